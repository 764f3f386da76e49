"""Full-width bundle check (not a CI test: minutes and ~8 GB of disk): an M3D-LaMed-Phi-3
folder at the published vision size (M3D-CLIP ViT 768 x 12 on 32 x 256 x 256, the 3072-wide
projector) and the published LLM width (3072, 32 heads, 32,015 rows) with 2 layers, random
weights, through the commands a user runs:

    ctchat convert FOLDER --out BUNDLE --quant q4_k_m
    ctchat ask DEMO_CT "..." --bundle BUNDLE --json
    ctchat bench bundle --bundle BUNDLE

    PYTHONPATH=$PWD .venv/bin/python tests/convert/full_width_bundle.py [--work DIR]

``--layers 32 --dtype float16`` gives the published size throughout (3.8B LLM parameters,
about 16 GB of disk): the bundle ``ctchat bench llm --gguf WORK/bundle/llm-q4_k_m.gguf`` and
``ctchat bench bundle --bundle WORK/bundle`` measure a full-size model with.

Prints each command's wall time and peak RSS, the bundle's sizes, the answer's JSON summary and
the benchmark's table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixture_layouts import m3d_lamed  # noqa: E402
from fixture_tokenizers import train_spm  # noqa: E402
from full_width_check import WIDTH, gib, script_args  # noqa: E402

QUESTION = "Where is the lesion located?"


def make(root: Path, layers: int, dtype: str) -> None:
    """Write the checkpoint: full-size vision (weights at trained scale) and the LLM."""
    import torch

    from convert.towers.lamed import build_lamed_vision

    config = {"hidden_size": WIDTH["hidden"], "image_size": [32, 256, 256], "patch_size": [4, 16, 16],
              "mm_hidden_size": 768}
    torch.manual_seed(0)
    vision = build_lamed_vision(config)
    with torch.no_grad():
        for name, p in vision.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.uniform_(0.8, 1.2)
            else:
                p.normal_(0, 0.02)
    tensors = {**{f"model.vision_tower.vision_tower.{k}": v for k, v in vision.vision_tower.state_dict().items()},
               **{f"model.mm_projector.{k}": v for k, v in vision.mm_projector.state_dict().items()}}
    m3d_lamed(root / "M3D-LaMed-Phi-3-4B", train_spm(root / "spm"), "phi3", vision=tensors,
              **{**WIDTH, "layers": layers}, dtype=getattr(torch, dtype))


def run(cmd: list[str]) -> tuple[float, int, str]:
    """Run a command; returns its wall time, its peak RSS (with children) and its stdout."""
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, out = 0, []

    reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.1)
    reader.join()
    text = "".join(out)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text[-3000:]}")
    return time.perf_counter() - t0, peak, text


def main() -> None:
    root, make_stage, args = script_args(__doc__, "ctchat-fullwidth-bundle-", reference=False)
    if make_stage:
        return make(root, args.layers, args.dtype)
    for name in ("M3D-LaMed-Phi-3-4B", "spm", "bundle"):
        shutil.rmtree(root / name, ignore_errors=True)
    ctchat = str(Path(sys.executable).with_name("ctchat"))
    from inference.resources import DEMO_CT

    steps = {
        "write the published-layout folder": [sys.executable, __file__, "--work", str(root), "--stage", "make",
                                              "--layers", str(args.layers), "--dtype", args.dtype],
        "ctchat convert --quant q4_k_m": [ctchat, "convert", str(root / "M3D-LaMed-Phi-3-4B"), "--out",
                                          str(root / "bundle"), "--quant", "q4_k_m"],
        "ctchat ask --json": [ctchat, "ask", str(DEMO_CT), QUESTION, "--bundle", str(root / "bundle"),
                              "--json", "--max-tokens", "16", "--device", "cpu"],
        "ctchat bench bundle": [ctchat, "bench", "bundle", "--bundle", str(root / "bundle"), "--runs", "3",
                                "--tokens", "16", "--device", "cpu"],
    }
    outputs = {}
    print(f"work folder: {root}")
    for label, cmd in steps.items():
        seconds, peak, outputs[label] = run(cmd)
        print(f"{label:40s} {seconds:7.1f} s   peak RSS {gib(peak)}", flush=True)
    for path in sorted((root / "bundle").iterdir()):
        print(f"size      {path.name:30s} {gib(path.stat().st_size)}")
    answer = json.loads(outputs["ctchat ask --json"])
    print("answer:", json.dumps({k: answer[k] for k in ("task", "answer", "slice_scores", "timings_s", "n_tokens")}))
    print("notice:", answer["bundle"]["notice"])
    print(outputs["ctchat bench bundle"])


if __name__ == "__main__":
    main()
