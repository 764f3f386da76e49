"""``ctchat bench relevance``: the default 3D bundle and the tiny slice-set bundle, one row each,
with the answer's time, the relevance's, the slabs and the ratio (and 32 slabs' extrapolated)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest.importorskip("torch", reason="the tiny Gemma 3 is written with torch (the train extra)")
pytest.importorskip("transformers", reason="the tiny Gemma 3 is written with transformers (the train extra)")

from tiny_bundle import make_tiny_bundle  # noqa: E402

from benchmarks.relevance import GOAL_SLABS, RelevanceTiming, run  # noqa: E402

NUMBER = r"(\d+\.\d+)"


def test_both_bundle_kinds_get_a_row_of_figures(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path / "data"))
    tiny = make_tiny_bundle(tmp_path)
    args = argparse.Namespace(bundle=["default", str(tiny)], slabs=3, scan=None, question="Where is the lesion located?",
                              tokens=4, runs=1, threads=2, device="cpu")
    assert run(args) == 0
    out = capsys.readouterr().out
    rows = {}
    for line in out.splitlines():
        found = re.match(rf"\s+(.+?)\s+(volume_3d|slice_set)\s+(\d+)\s+(\d+)\s+{NUMBER}s\s+{NUMBER}s\s+{NUMBER}x\s+{NUMBER}x", line)
        if found:
            rows[found.group(1)] = found.groups()
    assert set(rows) == {"ctchat-default 0.4.0", "tiny-gemma3-slices 1"}, out
    assert rows["ctchat-default 0.4.0"][2] == "4"  # a 3D bundle's slabs: its grid's depth rows, whatever --slabs says
    assert rows["tiny-gemma3-slices 1"][2] == "3"  # a slice set's: the slices sent
    for _, _, slabs, tokens, answer_s, relevance_s, ratio, at_goal in rows.values():
        assert 1 <= int(tokens) <= 4
        answer, relevance, r = float(answer_s), float(relevance_s), float(ratio)
        assert answer > 0 and relevance > 0
        # the printed seconds are rounded to 0.5 ms, the ratios to 0.05
        assert (relevance - 5e-4) / (answer + 5e-4) - 0.05 <= r <= (relevance + 5e-4) / (answer - 5e-4) + 0.05
        assert float(at_goal) == pytest.approx(r * GOAL_SLABS / int(slabs), abs=0.06 * GOAL_SLABS / int(slabs))
    assert "extrapolated" in out


def test_the_ratio_at_the_goal_is_linear_in_the_slabs():
    timing = RelevanceTiming("b", "slice_set", 8, answer_s=2.0, relevance_s=3.0, answer_tokens=4)
    assert timing.ratio == 1.5 and timing.ratio_at_goal == pytest.approx(1.5 * GOAL_SLABS / 8)
