"""``ctchat convert`` end to end on a Med-2E3 folder with random weights in the published
layout: the bundle's TG-IS slice scores and first-token logits through ONNX Runtime +
llama.cpp match an independent reference (MONAI's ViT, transformers' SiglipVisionModel,
BertModel and BertTokenizer, Med-2E3's connector and TG-IS code written out, transformers'
Phi3 fed the chat-template prompt with the 3D and TG-IS 2D tokens)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fixture_layouts import med2e3
from parity import hf_tokenizer, published_ids, reference_logits, relative_error
from test_towers_med2e3 import SIGLIP, VIT, published_files, reference, small_bert_config
from towers_refs import randomize

from convert.bundle_out import convert_checkpoint
from convert.errors import ConversionError
from convert.towers.med2e3 import build_med2e3_vision
from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.io import load_volume
from inference.question import Question
from inference.resources import DEMO_CT

LLM_WIDTH = 256
QUESTION = "is the liver lesion in the right lobe"
WORDS = "is the liver lesion in right lobe where what left lung".split()
TOLERANCE = 1e-3


def write_m3d_clip(folder) -> None:
    """The user's local M3D-CLIP folder: a BERT WordPiece vocabulary of the small BERT's size."""
    folder.mkdir()
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    words += [f"w{i}" for i in range(small_bert_config().vocab_size - len(words))]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")


@pytest.fixture(scope="module")
def converted(tmp_path_factory, sp_model):
    root = tmp_path_factory.mktemp("convert_med2e3")
    vision = randomize(build_med2e3_vision({}, SIGLIP, small_bert_config(), LLM_WIDTH, vit_cfg=VIT), seed=21)
    vit_config = {"in_channels": 1, "img_size": list(VIT.img_size), "patch_size": list(VIT.patch_size),
                  "hidden_size": VIT.hidden_size, "mlp_dim": VIT.mlp_dim, "num_layers": VIT.num_layers,
                  "num_heads": VIT.num_heads, "pos_embed": "perceptron", "spatial_dims": 3}
    ckpt = med2e3(root / "Med-2E3-M3D", sp_model, hidden=LLM_WIDTH, parts=published_files(vision),
                  part_configs={"vision3d_model": vit_config, "vision2d_model": SIGLIP})
    write_m3d_clip(root / "M3D-CLIP")
    out = convert_checkpoint(ckpt.folder, root / "bundle", quant="f32", text_encoder=root / "M3D-CLIP")
    return ckpt, vision, out, root


def test_without_the_text_encoder_the_user_is_told_which_folder_to_give(converted, tmp_path):
    ckpt, _, _, _ = converted
    with pytest.raises(ConversionError, match="--text-encoder"):
        convert_checkpoint(ckpt.folder, tmp_path / "bundle", quant="f32")


def test_slice_scores_and_first_token_logits_match_the_reference(converted):
    from transformers import BertTokenizer

    ckpt, vision, out, root = converted
    bundle = load_bundle(out)
    assert bundle.summary()["slice_attention"] and bundle.question_text["kind"] == "tokenizer"
    session = ChatSession(bundle, device="cpu", n_ctx=512, exact_attention=True)
    try:
        session.load_scan(load_volume(DEMO_CT))
        answer_scores = session.ask(Question("open", QUESTION), max_tokens=1).slice_scores
        ours = session.first_token_logits(Question("open", QUESTION)).astype(np.float64)
        volume = torch.from_numpy(session.model_input.array.astype(np.float32).reshape(1, 1, *VIT.img_size))
    finally:
        session.close()
    length = bundle.question_text["max_length"]
    bert_tok = BertTokenizer(str(root / "M3D-CLIP" / "vocab.txt"))
    enc = bert_tok(QUESTION, max_length=length, padding="max_length", truncation=True, return_tensors="pt")
    with torch.no_grad():
        _, _, scores, tokens = reference(vision, volume, enc["input_ids"], enc["attention_mask"])
    assert relative_error(np.asarray(answer_scores, np.float64).ravel(), scores[0].double().numpy()) < 1e-4
    tokenizer = hf_tokenizer(ckpt.folder)
    before, after = published_ids("med2e3", lambda t: tokenizer(t)["input_ids"], QUESTION, tokenizer.bos_token_id)
    reference_out = reference_logits(ckpt.reference_model(), before, tokens[0].numpy(), after)
    assert relative_error(ours, reference_out) < TOLERANCE
    assert int(np.argmax(ours)) == int(np.argmax(reference_out))
