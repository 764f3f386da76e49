"""``ctchat ask``'s encoding estimate is said only when a slice-set scan is really encoded: not
when the scan cache answers (the scan was encoded before), said once when it misses or when
there is no cache."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from inference.cli import main
from inference.resources import resource_path

QUESTION = "Is there a nodule in the right lung?"


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory) -> Path:
    sys.path.insert(0, str(Path(__file__).parent / "slices"))
    from tiny_bundle import tiny_bundle_or_skip

    return tiny_bundle_or_skip(tmp_path_factory.mktemp("tiny"))


def _measured_slow(bundle: Path) -> None:
    """As if a slice had taken 30 s on this machine: 4 slices are worth an estimate (2 min)."""
    from inference.bundle import load_bundle
    from inference.chat.slice_cost import SliceCost

    cost = SliceCost(load_bundle(bundle).identity())
    cost.times = [30.0]
    cost.save()


def test_a_scan_from_the_cache_gets_no_estimate(tiny_bundle: Path, tmp_path: Path, monkeypatch, capfd) -> None:
    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CTCHAT_SCAN_CACHE", raising=False)
    demo = resource_path("demo", "chest_lungdx_A0001_5mm.nii.gz")
    ask = ["ask", str(demo), QUESTION, "--bundle", str(tiny_bundle), "--max-tokens", "2", "--device", "cpu",
           "--slices", "4", "--json"]

    _measured_slow(tiny_bundle)
    assert main(ask) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["scan_cache"] == "miss"
    assert err.count("ctchat: encoding 4 slices: about 2 min on this machine") == 1, err  # a miss: said once

    _measured_slow(tiny_bundle)  # the first run measured the tiny model's (fast) slices
    assert main(ask) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["scan_cache"] == "hit"
    assert "encoding" not in err, err  # nothing is encoded: no estimate of an encode
