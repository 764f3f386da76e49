"""``ctchat convert`` end to end on a Med3DVLM-Qwen-2.5 folder with random weights in the
published layout: the bundle's first-token logits through ONNX Runtime + llama.cpp match an
independent reference (DCFormer and the mixer written with torch's functional ops, transformers'
Qwen2 fed the positional splice that drops the first question token)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fixture_layouts import med3dvlm
from parity import hf_tokenizer, published_ids, reference_logits, relative_error
from test_towers_med3dvlm import SMALL, SMALL_CONFIG, ref_dcformer, ref_mixer
from towers_refs import randomize, with_prefix

from convert.bundle_out import convert_checkpoint
from convert.towers.med3dvlm import build_med3dvlm_vision
from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.io import load_volume
from inference.question import Question
from inference.resources import DEMO_CT

LLM_WIDTH = 64
VISION_CONFIG = {k: SMALL_CONFIG[k] for k in ("input_size", "low_input_size", "high_input_size",
                                              "low_output_size", "high_output_size")}
QUESTION = "Which organ shows the abnormality?"
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("convert_med3dvlm")
    vision = randomize(build_med3dvlm_vision({**SMALL_CONFIG, "hidden_size": LLM_WIDTH}, SMALL), seed=13)
    tensors = {**with_prefix(vision.vision_tower.state_dict(), "model.vision_tower.vision_tower."),
               **with_prefix(vision.mm_projector.state_dict(), "model.mm_projector.")}
    ckpt = med3dvlm(root / "Med3DVLM-Qwen-2.5-7B", hidden=LLM_WIDTH, vision=tensors, config_extra=VISION_CONFIG)
    events = []
    out = convert_checkpoint(ckpt.folder, root / "bundle", quant="f32", work_dir=root / "work", progress=events.append)
    return ckpt, vision, out, root, events


def test_the_bundle_drops_the_first_question_token_and_has_no_slice_attention(converted):
    _, _, out, _, _ = converted
    bundle = load_bundle(out)
    segments = json.loads((out / "manifest.json").read_text())["prompt_format"]["segments"]
    assert segments[-1] == {"kind": "text", "text": " {prompt}", "special": False, "drop_first": 1}
    assert bundle.question_graph is None and bundle.layout.n_tokens_3d == 12
    assert bundle.recipe.target_shape_zyx == (64, 128, 128)
    assert "licence" in bundle.summary() and "not stated" in bundle.summary()["licence"]


def test_a_rerun_skips_every_finished_step(converted):
    ckpt, _, out, root, _ = converted
    events = []
    convert_checkpoint(ckpt.folder, out, quant="f32", work_dir=root / "work", progress=events.append)
    states = {e.step: e.state for e in events if e.state != "running"}
    assert states["gguf"] == states["vision"] == "skipped" and states["bundle"] == "finished"


def test_first_token_logits_match_the_reference(converted):
    ckpt, vision, out, _, _ = converted
    session = ChatSession(load_bundle(out), device="cpu", n_ctx=256, exact_attention=True)
    try:
        session.load_scan(load_volume(DEMO_CT))
        ours = session.first_token_logits(Question("open", QUESTION)).astype(np.float64)
        volume = torch.from_numpy(session.model_input.array.astype(np.float32).reshape(1, 1, 64, 128, 128))
    finally:
        session.close()
    with torch.no_grad():
        maps = ref_dcformer(vision.vision_tower.state_dict(), SMALL, volume)
        image = ref_mixer(vision.mm_projector.state_dict(), maps[3], maps[4])[0]
    tokenizer = hf_tokenizer(ckpt.folder)
    before, after = published_ids("med3dvlm", lambda t: tokenizer(t)["input_ids"], QUESTION, n_image=12)
    reference = reference_logits(ckpt.reference_model(), before, image.numpy(), after)
    assert relative_error(ours, reference) < TOLERANCE
    assert int(np.argmax(ours)) == int(np.argmax(reference))
