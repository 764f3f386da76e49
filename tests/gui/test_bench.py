"""``ctchat bench viewer`` runs, prints the figures side by side and keeps the 3D view still."""

from __future__ import annotations

import argparse
import re

import pytest
from gui_helpers import A0001_DICOM, need

pytestmark = pytest.mark.gui


def test_bench_viewer_smoke(qapp, capsys):
    from benchmarks.viewer import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["viewer", "--path", str(need(A0001_DICOM)), "--steps", "12", "--frames", "2", "--chat-tokens", "0",
                              "--size", "1000x700"])
    assert args.func(args) == 0  # non-zero when the 3D view rendered during slice steps
    out = capsys.readouterr().out
    assert "512x512x64" in out
    step = re.search(r"slice step \(wheel -> new slice\)\s+([\d.]+)\s+([\d.]+)", out)
    vr = re.search(r"volume-rendering frame \(3D view\)\s+([\d.]+)", out)
    assert step and vr
    assert 0 < float(step.group(1)) <= float(step.group(2))
    assert "3D renders during 22 slice steps: 0" in out
    prior = re.search(r"slice step, current \| prior layout\s+([\d.]+).*\n\s+\+ the linked prior view\s+([\d.]+)", out)
    assert prior and 0 < float(prior.group(1)) <= float(prior.group(2))  # both views take longer than one
