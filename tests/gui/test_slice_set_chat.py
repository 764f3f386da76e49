"""A slice-set bundle in the viewer: encoding said and stoppable, the sent slices marked, About.

One window per module with the tiny random slice-set bundle (tests/slices/tiny_bundle.py, a
Gemma 3 in MedGemma 1.5's layout; a budget of 4 slices) and the bundled demo CT. The answers
are random text: what is tested is that the viewer runs such a model, says what it was given
and keeps working when the encoding is stopped. The tests run in order (one window).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from chat_helpers import ask, chat_window, open_and_encode, wait_for
from gui_helpers import GAP_DICOM, wheel
from PySide6 import QtCore, QtGui
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from inference.resources import DEMO_CT
from viewer.models.encoding_words import duration_words, encoding_progress_words, encoding_started_words

BUDGET = 4
QUESTION = "Is there a nodule in the right lung?"


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory) -> Path:
    """The tiny slice-set bundle (built by llama.cpp's converter, ~10 s)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slices"))
    from tiny_bundle import tiny_bundle_or_skip

    from inference.slices.recipe import SliceRecipe

    return tiny_bundle_or_skip(tmp_path_factory.mktemp("tiny"), SliceRecipe(max_slices=6))


@pytest.fixture(scope="module")
def slice_win(qapp, tiny_bundle, tmp_path_factory):
    """A window with the chat on the tiny slice-set bundle (4 slices), no scan yet."""
    # every open encodes (a cached scan would skip the slices)
    with chat_window(tmp_path_factory.mktemp("appdata"), env={"CTCHAT_SCAN_CACHE": "0"}, bundle=str(tiny_bundle),
                     slices=BUDGET) as win:
        panel = win.chat_panel
        if panel.model_info is None and panel.state != "failed":
            wait_for(panel.stateChanged, 60000, until=lambda s: s in ("idle", "failed"))
        assert panel.model_info is not None, panel.status.text()
        yield win


def session(win):
    """The worker's SliceSetSession (read while the worker is idle)."""
    return win.chat.thread.worker.session


def record_statuses(win) -> list[str]:
    """Every status line the chat model says from now on."""
    model, said = win.chat.model, []
    model.status_changed.connect(lambda: said.append(model.status))
    return said


def wait_until(condition, timeout_ms: int = 30000) -> None:
    """Run the event loop until ``condition()`` holds (a QEventLoop: QTest.qWait keeps the GIL
    while it sleeps and starves the worker)."""
    deadline = QtCore.QDeadlineTimer(timeout_ms)
    while not condition() and not deadline.hasExpired():
        loop = QtCore.QEventLoop()
        QtCore.QTimer.singleShot(20, loop.quit)
        loop.exec()


def is_mark(color: QtGui.QColor) -> bool:
    return color.red() > 200 and color.green() < 120 and color.blue() > 150


# ------------------------------------------------------------------ the words (no display needed)
def test_the_encoding_status_in_words():
    assert duration_words(85) == "about 1 min 25 s"
    assert duration_words(40.2) == "about 40 s"
    assert duration_words(120) == "about 2 min"
    assert duration_words(0.3) == "under a second"
    assert encoding_started_words(85, 85.0).startswith("Encoding 85 slices for the model, about 1 min 25 s")
    assert encoding_started_words(4, None).startswith("Encoding 4 slices for the model…")
    assert encoding_progress_words(1, 4, 8.0).startswith("Encoding slice 1 of 4 for the model, about 6 s left")
    assert "Stop stops it" in encoding_progress_words(4, 4, None)


# ------------------------------------------------------------------ the window
@pytest.mark.gui
def test_a_slice_set_answer_marks_the_slices_sent(slice_win, tmp_path):
    from viewer.models.slice_scores import displayed_slice

    win, panel = slice_win, slice_win.chat_panel
    info = panel.model_info
    assert info["kind"] == "slice_set" and info["slice_budget"] == BUDGET and not info["slice_attention"]
    assert f"up to {BUDGET} stored axial slices" in panel.model_label.text()
    said = record_statuses(win)
    open_and_encode(win, DEMO_CT)
    # the encoding said which slice it was on, one by one; Stop could stop it meanwhile
    assert any(s.startswith(f"Encoding {BUDGET} slices for the model") for s in said), said
    assert [s for s in said if s.startswith("Encoding slice")] == [
        encoding_progress_words(k, BUDGET, None) for k in range(1, BUDGET + 1)]
    assert "4 of 64 stored slices sent as images" in panel.status.text()

    entry, _ = ask(win, QUESTION)
    assert entry.answer is not None and not entry.error
    assert entry.answer.slice_scores is None and entry.scores is None  # no TG-IS
    assert "4 of 64 stored slices sent as images" in panel.answer_view.toPlainText()

    sent, marks = session(win).sent_slices, win.chat.sent_marks
    volume = win.scan.volume
    assert len(sent) == BUDGET and marks.model.stored == sent
    assert marks.model.displayed == [displayed_slice(volume, s) for s in sent] == sent  # not resampled
    assert marks.isVisible() and not any(strip.isVisible() for strip in win.heat_strips)
    assert marks.model.words(0) == f"sent to the model (slice 1 of {BUDGET}): stored slice {sent[0] + 1} of 64"
    # on screen: a magenta tick at each sent slice's scroller position, none between them
    image = marks.grab().toImage()
    for k in marks.model.displayed:
        assert is_mark(QtGui.QColor(image.pixel(3, int(marks.tick_y(k))))), k
    between = (marks.tick_y(sent[0]) + marks.tick_y(sent[1])) / 2
    assert not is_mark(QtGui.QColor(image.pixel(3, int(between))))
    # a tick sits where the scroller's handle is when its slice is in view
    win.go_to_axial_slice(sent[1])
    QtCore.QCoreApplication.processEvents()
    assert win.axial.scroller.value() == sent[1]
    win.save_window_png(tmp_path / "slice-set-answer.png")
    assert (tmp_path / "slice-set-answer.png").stat().st_size > 10_000
    # the report says what the model was given, in the recipe's words
    report = win.export_report(tmp_path / "report.html").read_text()
    assert "4 of 64 stored slices sent as images" in report
    assert "recipe: rendering" in report and "grid (D, H, W)" not in report


@pytest.mark.gui
def test_the_marks_follow_a_resampled_grid(slice_win):
    win = slice_win
    open_and_encode(win, GAP_DICOM)  # 4 stored slices with a gap, shown on a 165-slice grid
    volume, marks = win.scan.volume, win.chat.sent_marks
    sent = session(win).sent_slices
    assert volume.original is not None and sent == [0, 1, 2, 3]
    expected = [int(round(float(volume.original_to_grid(s)))) for s in sent]
    assert marks.model.displayed == expected and expected[-1] == volume.shape[0] - 1
    assert marks.model.summary() == "4 of 4 stored slices sent as images"
    # clicking a tick goes to the displayed slice of its stored slice
    win.go_to_axial_slice(80)
    QTest.mouseClick(marks, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QtCore.QPoint(4, round(marks.tick_y(expected[0]))))
    assert win.axial.slice_index == expected[0]


@pytest.mark.gui
def test_stopping_the_encoding_keeps_the_app_and_the_previous_scan(slice_win):
    win, panel = slice_win, slice_win.chat_panel
    before = list(session(win).sent_slices)  # the resampled scan's, read before
    worker = win.chat.thread.worker
    released = threading.Event()

    def hold_after_the_first_slice(_generation, done, _total):  # in the worker thread
        if done == 1:
            released.wait(30)

    worker.encodeProgress.connect(hold_after_the_first_slice, Qt.ConnectionType.DirectConnection)
    said = record_statuses(win)
    try:
        win.open_path(str(DEMO_CT))  # its transcript (the question above) comes back
        assert wait_for(win.loadFinished) == ["loaded"]
        wait_until(lambda: f"slice 1 of {BUDGET}" in panel.status.text())
        assert panel.state == "encoding" and panel.stop_button.isEnabled(), panel.status.text()
        panel.stop_button.click()
        released.set()
        wait_for(panel.stateChanged, 30000, until=lambda s: s == "encode_stopped")
    finally:
        released.set()
        worker.encodeProgress.disconnect(hold_after_the_first_slice)
    # a time estimate once this machine has encoded slices
    assert any(s.startswith(f"Encoding {BUDGET} slices for the model, ") for s in said), said
    assert "Encoding stopped" in panel.status.text()
    assert session(win).sent_slices == before  # the model kept what it had
    assert not win.chat.sent_marks.isVisible()  # nothing of this scan was sent
    assert panel.encode_button.isVisible() and not panel.ask_button.isEnabled()
    assert panel.ask("Anything?") is None
    assert panel.entries and panel.entries[0].shown == QUESTION  # the transcript stays
    # the viewer works on
    k = win.axial.slice_index
    wheel(win.axial.canvas, 1)
    assert win.axial.slice_index == k + 1
    # and the scan can be encoded after all
    panel.encode_button.click()
    wait_for(panel.stateChanged, 60000, until=lambda s: s in ("ready", "scan_failed"))
    assert panel.state == "ready", panel.status.text()
    assert win.chat.sent_marks.model.stored == session(win).sent_slices != before
    assert win.chat.sent_marks.isVisible() and not panel.encode_button.isVisible()


@pytest.mark.gui
def test_about_shows_the_recipe_and_no_tgis(slice_win):
    panel = slice_win.chat_panel
    dialog = panel.show_about()
    try:
        text = dialog.text.toPlainText()
        for value in panel.model_info["summary"]["input_recipe_words"].values():
            assert value in text
        assert f"up to {BUDGET} of the scan's stored axial slices" in text
        assert "No TG-IS slice attention" in text
        assert "mmproj.gguf" in text
    finally:
        dialog.close()
