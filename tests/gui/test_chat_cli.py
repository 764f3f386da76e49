"""``ctchat view --ask ... --screenshot`` and the UI-stall figures of ``ctchat bench viewer``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from gui_helpers import A0001_DICOM, model_data_dir, need
from PySide6 import QtGui

pytestmark = pytest.mark.gui


def _parse(register, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_view_ask_answers_and_saves_the_window(qapp, tmp_path, capsys, monkeypatch):
    from viewer.cli import register

    monkeypatch.setenv("CTCHAT_DATA_DIR", str(model_data_dir(tmp_path / "appdata")))
    out = tmp_path / "shot.png"
    args = _parse(register, ["view", "--demo", "--ask", "Is there a nodule?", "--max-tokens", "6",
                             "--size", "1300x800", "--screenshot", str(out)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "Q: Is there a nodule?" in printed
    top = re.search(r"\[stored slices? ([\d, -]+) of 64 scored highest\]", printed)
    assert top, printed
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (1300, 800)


def test_bench_viewer_reports_ui_stalls_while_streaming(qapp, tmp_path, capsys, monkeypatch):
    from benchmarks.viewer import register

    monkeypatch.setenv("CTCHAT_DATA_DIR", str(model_data_dir(tmp_path / "appdata")))
    args = _parse(register, ["viewer", "--path", str(need(A0001_DICOM)), "--steps", "4", "--frames", "1",
                             "--size", "1000x700", "--chat-tokens", "16", "--earlier-answers", "2"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    # the timed answer joins a transcript of two earlier answers
    m = re.search(r"UI thread while the findings stream after 2 earlier answer\(s\) "
                  r"\((\d+) tokens .*longest stall ([\d.]+) ms, "
                  r"p99 gap ([\d.]+) ms, median gap ([\d.]+) ms, (\d+) ticks", printed)
    assert m, printed
    tokens, longest, p99, median, ticks = (float(g) for g in m.groups())
    assert 0 < tokens <= 16 and ticks >= 3
    assert 0 < median <= p99 <= longest
    assert re.search(r"UI thread while the model starts .*longest stall [\d.]+ ms", printed), printed
    worst = re.search(r"longest UI stall while the model works: ([\d.]+) ms; target <= 50 ms: (met|NOT met)", printed)
    assert worst and float(worst.group(1)) >= longest, printed


def test_demo_takes_the_view_options(qapp, tmp_path, capsys):
    from inference.cli import main

    out = tmp_path / "demo.png"
    assert main(["--demo", "--screenshot", str(out), "--size", "900x600"]) == 0
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (900, 600)


def test_a_folder_of_several_series_says_so_and_opens_the_default(qapp, tmp_path, capsys):
    from gui_helpers import DATA
    from viewer.cli import register

    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("chest_lungdx_A0001_5mm", "chest_lungdx_A0002_8mm"):
        for f in need(DATA / "dicom" / name).iterdir():
            (folder / f"{name[-7:]}_{f.name}").symlink_to(f)
    out = tmp_path / "shot.png"
    args = _parse(register, ["view", str(folder), "--screenshot", str(out), "--size", "900x600"])
    assert args.func(args) == 0 and out.is_file()
    err = capsys.readouterr().err
    assert "holds 2 series" in err and "--series " in err and "ctchat info" in err and "64 slices" in err
