"""``ctchat train`` end to end on the tiny configuration: two stages, resume, bundle export."""

from __future__ import annotations

import json

from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.cli import main


def test_train_align_then_lora_and_export(tmp_path, a0001_volume, capsys):
    align, lora = tmp_path / "align", tmp_path / "lora"
    assert main(["train", "--stage", "align", "--out", str(align), "--steps", "3", "--per-scan", "1",
                 "--checkpoint-every", "2"]) == 0
    assert "stage align: 3 steps" in capsys.readouterr().out
    # the same command again resumes at the end: nothing more to run
    assert main(["train", "--stage", "align", "--out", str(align), "--steps", "3", "--per-scan", "1"]) == 0
    assert "stage align" not in capsys.readouterr().out
    assert main(["train", "--stage", "lora", "--out", str(lora), "--init", str(align), "--steps", "2",
                 "--per-scan", "1", "--export", str(tmp_path / "bundle")]) == 0
    out = capsys.readouterr().out
    assert "started from" in out and "wrote ctchat-tiny-lora" in out
    bundle = load_bundle(tmp_path / "bundle")
    manifest = json.loads((bundle.root / "manifest.json").read_text())
    assert manifest["training"]["trained"] is True and "synthetic lesions" in manifest["training"]["data"]
    assert bundle.lora_path is not None
    chat = ChatSession(bundle, n_ctx=512)
    chat.load_scan(a0001_volume)
    assert chat.ask("Is there a nodule or mass in the lungs?", max_tokens=3).n_tokens >= 1
    chat.close()
