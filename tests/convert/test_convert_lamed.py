"""``ctchat convert`` end to end on an M3D-LaMed-Phi-3 folder with random weights in the
published layout: the bundle it writes, run by the chat session (ONNX Runtime + llama.cpp),
gives the first answer token's logits of an independent reference (MONAI's ViT, LaMed's
projector written with einops, transformers' Phi3 fed the spliced embeddings)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fixture_layouts import m3d_lamed
from parity import hf_tokenizer, published_ids, reference_logits, relative_error
from test_towers_lamed import reference_projector
from towers_refs import monai_vit, randomize, with_prefix

from convert.command import register
from convert.steps import sha256_file
from convert.towers.lamed import build_lamed_vision
from convert.towers.m3d_vit import M3DViTConfig
from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.io import load_volume
from inference.question import Question, QuestionError
from inference.resources import DEMO_CT

VIT = M3DViTConfig(img_size=(16, 64, 64), patch_size=(4, 16, 16), hidden_size=128, mlp_dim=256,
                   num_layers=2, num_heads=2)  # 64 per head, as M3D-CLIP's 12 at 768
VISION_CONFIG = {"image_size": list(VIT.img_size), "patch_size": list(VIT.patch_size), "mm_hidden_size": VIT.hidden_size}
LLM_WIDTH = 256
QUESTION = "Where is the lesion located?"
TOLERANCE = 1e-3


def small_vision():
    vision = randomize(build_lamed_vision({"hidden_size": LLM_WIDTH, **VISION_CONFIG}, vit_cfg=VIT), seed=5)
    tensors = {**with_prefix(vision.vision_tower.state_dict(), "model.vision_tower.vision_tower."),
               **with_prefix(vision.mm_projector.state_dict(), "model.mm_projector.")}
    return vision, tensors


@pytest.fixture(scope="module")
def converted(tmp_path_factory, sp_model):
    import argparse

    root = tmp_path_factory.mktemp("convert_lamed")
    vision, tensors = small_vision()
    ckpt = m3d_lamed(root / "M3D-LaMed-Phi-3-4B", sp_model, "phi3", hidden=LLM_WIDTH, vision=tensors,
                     config_extra=VISION_CONFIG)
    (ckpt.folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# M3D-LaMed\n")
    before = {p.name: sha256_file(p) for p in ckpt.folder.iterdir()}
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["convert", str(ckpt.folder), "--out", str(root / "bundle"), "--quant", "f32"])
    assert args.func(args) == 0
    return ckpt, vision, root / "bundle", before


def test_the_bundle_says_what_the_model_is(converted):
    ckpt, _, out, before = converted
    assert {p.name: sha256_file(p) for p in ckpt.folder.iterdir()} == before  # source untouched
    assert not out.with_name("bundle.work").exists()  # the default work folder goes at the end
    bundle = load_bundle(out, verify_llm=True)
    info = bundle.summary()
    assert info["licence"].startswith("apache-2.0") and not info["slice_attention"]
    assert info["tasks"] == ["choice", "open", "report"]  # no yes/no prompt: the panel offers none
    assert "M3D-LaMed" in info["notice"] and "no slice attention" in info["notice"]
    assert bundle.question_graph is None and bundle.layout.n_tokens_3d == 8
    assert bundle.recipe.target_shape_zyx == VIT.img_size
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["prompt_format"]["segments"][0] == {"kind": "tokens", "ids": [1]}  # BOS
    assert set(manifest["files"]) == {"scan.onnx"}  # the GGUF is checked by its own sha256


def test_first_token_logits_match_the_reference(converted):
    ckpt, vision, out, _ = converted
    session = ChatSession(load_bundle(out), device="cpu", n_ctx=512, exact_attention=True)
    try:
        session.load_scan(load_volume(DEMO_CT))
        ours = session.first_token_logits(Question("open", QUESTION)).astype(np.float64)
        volume = torch.from_numpy(session.model_input.array.astype(np.float32).reshape(1, 1, *VIT.img_size))
    finally:
        session.close()
    vit = monai_vit(VIT)
    vit.load_state_dict(vision.vision_tower.state_dict(), strict=False)
    with torch.no_grad():
        image = reference_projector(vision.mm_projector.state_dict(), vit(volume)[0][:, 1:], VIT.grid)[0]
    tokenizer = hf_tokenizer(ckpt.folder)
    before, after = published_ids("m3d_lamed", lambda t: tokenizer(t)["input_ids"], QUESTION, n_image=8)
    reference = reference_logits(ckpt.reference_model(), before, image.numpy(), after)
    assert relative_error(ours, reference) < TOLERANCE
    assert int(np.argmax(ours)) == int(np.argmax(reference))


def test_it_answers_and_declines_what_it_was_not_trained_for(converted):
    _, _, out, _ = converted
    session = ChatSession(load_bundle(out), device="cpu", n_ctx=512)
    try:
        session.load_scan(load_volume(DEMO_CT))
        answer = session.ask(Question("choice", "Which organ?", ("lung", "liver")), max_tokens=4)
        assert answer.slice_scores is None and answer.top_slices == [] and "no slice attention" in answer.top_range()
        with pytest.raises(QuestionError, match="not given a prompt for 'yes_no'"):
            session.ask(Question.yes_no("emphysema"))
    finally:
        session.close()


def test_an_unknown_folder_is_named_with_what_was_found(tmp_path, capsys):
    import argparse

    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["convert", str(tmp_path), "--out", str(tmp_path / "out")])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "BertModel" in err and "Traceback" not in err and not (tmp_path / "out").exists()


def test_occlusion_relevance_equals_a_full_recompute(converted):
    """Each depth row zeroed: ctchat's figure (a copied prefix, the rest decoded again) equals a
    fresh llama.cpp context decoding the whole prompt with that row zeroed (f32, exact)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "slices"))
    from occlusion_reference import relevance_and_recompute

    _, _, bundle_dir, _ = converted
    session = ChatSession(load_bundle(bundle_dir), exact_attention=True)
    session.load_scan(load_volume(DEMO_CT))
    answer = session.ask(QUESTION, max_tokens=6)
    relevance, base, full = relevance_and_recompute(session, answer, False)
    assert len(relevance.slab_values) == 2  # the (2, 2, 2) grid of this reduced layout: two depth rows
    assert abs(base - relevance.base_logprob) < TOLERANCE
    np.testing.assert_allclose(relevance.slab_values, full, atol=TOLERANCE)
    assert np.abs(full).max() > 1e-3  # the rows matter to this model: the check is not of zeros
    session.close()
