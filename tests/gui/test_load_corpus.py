"""The bad-input corpus (tests/io_corpus.py) through the viewer's loader, one case after another
in one window: each gives a one-sentence message (the scan shown before stays), the series
picker, or a loaded volume with its warnings on the message bar; the window keeps working."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from io_corpus import build_corpus, is_sentence  # noqa: E402

pytestmark = pytest.mark.gui


def test_every_corpus_case_opens_or_explains_itself_in_the_viewer(window, qtbot, tmp_path, ct_dir):
    problems = []
    for name, (case, path) in build_corpus(tmp_path / "corpus", ct_dir).items():
        before = window.scan
        with qtbot.waitSignal(window.loadFinished, timeout=60000) as blocker:
            window.open_path(str(path))
        outcome, text = blocker.args[0], window.message_bar.text()
        if outcome == "series":
            dialog = window.series_dialog
            shown = all(is_sentence(s.status) for s in dialog.series if s.status)
            if "choose one" not in case.match or not shown or dialog.selected_uid() is None:
                problems.append(f"{name}: unexpected series picker")
            dialog.reject()
        elif outcome == "failed":
            title, _, detail = text.partition("\n• ")  # the bar: a title, then the loader's sentence
            if case.expect != "error" or not is_sentence(detail) or window.scan is not before:
                problems.append(f"{name}: failed with {text!r}")
        elif outcome == "loaded":
            vol = window.scan.volume
            if case.expect == "error" or not np.all(np.isfinite(vol.voxels)):
                problems.append(f"{name}: loaded, expected {case.match!r}")
            elif case.expect == "warning" and not (case.match in {w.code for w in vol.warnings}
                                                     and window.message_bar.isVisible()):
                problems.append(f"{name}: warning {case.match} not shown")
        else:
            problems.append(f"{name}: {outcome}")
    assert not problems, "\n".join(problems)
    window.axial.canvas.update()  # still alive and drawing
