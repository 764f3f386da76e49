"""``ctchat bench bundle`` on a slice-set bundle: the tiny random Gemma 3 goes through the
slice-set figures (ctchat against bare llama.cpp, the scan cache against a cold start, the KV
cache at 85 slices) and every row is printed with a number."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_bundle import make_tiny_bundle  # noqa: E402

ROWS = ["per-slice encode (projector, mtmd)", "work per slice (from the projector's shape)",
        "fp32 matmul peak measured now", "prefill of the slices' prefix, ctchat", "prefill, bare llama.cpp",
        "first token, cold", "first token, reopened from the scan cache", "peak memory of this process",
        "KV cache, llama.cpp's, 24400 positions (85 slices)", "EXTRAPOLATED: cold first token at 85 slices"]


def test_slice_set_rows_are_printed(tmp_path, capsys):
    from benchmarks.bundle import run
    from benchmarks.slice_set import projector_gflop

    bundle = make_tiny_bundle(tmp_path)
    args = argparse.Namespace(bundle=str(bundle), scan=None, question="Where is the lesion located?", runs=1,
                              tokens=4, threads=2, device="cpu", slices=2)
    assert run(args) == 0
    out = capsys.readouterr().out
    for row in ROWS:
        line = next((line for line in out.splitlines() if row in line), None)
        assert line is not None, f"no row {row!r} in:\n{out}"
        assert re.search(r"\d", line.split(row)[1]), line
    assert "2 slices" in out and "MISSED" not in out
    # prefill and decode each set against bare llama.cpp (a tiny model's ratios are noise)
    assert len(re.findall(r"ratio ctchat / bare: \d+\.\d+", out)) == 2
    # the tiny projector: 2 layers 48 wide at 4096 patches (its attention dominates)
    assert 0.5 < projector_gflop(bundle / "mmproj.gguf") < 10
