"""``ctchat pretrain`` and ``ctchat train`` end to end on the tiny configuration: MAE, two
stages, resume, the stage history, and the bundle export."""

from __future__ import annotations

import json

import torch

from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.cli import main
from training.stages.pretrain import encoder_state
from training.stages.trainer import CHECKPOINT


def test_pretrain_align_lora_and_export(tmp_path, a0001_volume, capsys, adapter_logit_shift):
    mae, align, lora = tmp_path / "mae", tmp_path / "align", tmp_path / "lora"
    assert main(["pretrain", "--out", str(mae), "--steps", "3", "--per-scan", "1"]) == 0
    assert "stage mae: 3 steps" in capsys.readouterr().out
    encoder = encoder_state(torch.load(mae / CHECKPOINT, weights_only=False)["trainable"])

    assert main(["train", "--stage", "align", "--out", str(align), "--mae", str(mae), "--steps", "3",
                 "--per-scan", "1", "--checkpoint-every", "2"]) == 0
    assert "stage align: 3 steps" in capsys.readouterr().out
    vision = torch.load(align / CHECKPOINT, weights_only=False)["vision"]
    assert all(torch.equal(vision[f"scan.vit3d.{k}"], v) for k, v in encoder.items()), \
        "align starts from the MAE encoder and keeps it frozen"
    # the same command again resumes at the end: nothing more to run
    assert main(["train", "--stage", "align", "--out", str(align), "--mae", str(mae), "--steps", "3",
                 "--per-scan", "1"]) == 0
    assert "stage align" not in capsys.readouterr().out

    assert main(["train", "--stage", "lora", "--out", str(lora), "--init", str(align), "--steps", "2",
                 "--per-scan", "1", "--lesion-weight", "1", "--lesion-free-parts", "--export", str(tmp_path / "bundle")]) == 0
    out = capsys.readouterr().out
    assert "started from: vision weights" in out and "wrote ctchat-tiny-lora" in out
    bundle = load_bundle(tmp_path / "bundle")
    training = json.loads((bundle.root / "manifest.json").read_text())["training"]
    assert training["trained"] is True and "synthetic lesions" in training["data"]
    assert [s["stage"] for s in training["stages"]] == ["mae", "align", "lora"]
    assert training["stages"][-1]["lesion_token_aux_weight"] == 1.0 and training["stages"][-1]["lesion_free_parts"]
    assert not training["stages"][-1]["continued_lora"]  # its --init was an align run: no LoRA to carry
    assert "A0001 below its tumour" in training["data"]
    assert bundle.lora_path is not None and adapter_logit_shift(bundle) > 0, "the adapter is trained and applied"
    chat = ChatSession(bundle, n_ctx=512)
    chat.load_scan(a0001_volume)
    # two steps may already make the end token the likeliest first one: an empty answer is valid
    answer = chat.ask("Is there a nodule or mass in the lungs?", max_tokens=3)
    assert not answer.cancelled and answer.n_tokens <= 3 and len(answer.original_scores) == 64
    chat.close()
