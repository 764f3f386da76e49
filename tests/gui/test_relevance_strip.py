"""Occlusion relevance in the viewer: computed after each answer on the worker, drawn in a strip
of its own beside the axial scroller (next to TG-IS's, or to a slice-set model's sent marks),
kept with the answer in the scores table, its CSV and the report; turned off from the View menu.

Two windows, one per bundle kind, on the bundled demo CT: the default bundle (TG-IS and
occlusion) and the tiny random slice-set bundle (tests/slices/tiny_bundle.py, 4 slices sent;
occlusion only). The tests run in order within each window. The first tests need no display:
the requests' bookkeeping, the strip's colours and the words.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from chat_helpers import ask, chat_window, wait_for
from gui_helpers import model_data_dir
from PySide6 import QtCore, QtGui
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from inference.chat.session import Answer
from inference.question import Question
from inference.resources import DEMO_CT
from viewer.models.relevance import RelevanceRequests
from viewer.models.transcript import Entry

QUESTION = "Where is the lesion located?"
N_SLICES = 64  # the demo CT's stored slices (not resampled: one displayed slice each)


def answered_entry(qid: int = 1, tokens: tuple[int, ...] = (5, 6), cancelled: bool = False) -> Entry:
    answer = Answer(Question("open", QUESTION), "x", None, None, [], token_ids=list(tokens), cancelled=cancelled)
    return Entry(qid, answer.question, text="x", answer=answer)


# ------------------------------------------------------------------ no display needed
def test_a_request_not_started_is_kept_from_starting():
    requests, sent, finished = RelevanceRequests(), [], []
    requests.requested.connect(lambda rid, request: sent.append((rid, request)))
    requests.finished.connect(finished.append)
    entry = answered_entry()
    assert requests.request(7, entry) and requests.is_waiting(entry)
    assert "Computing occlusion relevance for Q1" in requests.waiting_words(entry)
    (rid, request), = sent
    assert rid == 7 and request.answer is entry.answer and not request.cancel.is_set()
    requests.cancel_waiting()  # a new question, another scan
    assert request.cancel.is_set()
    requests.skipped(7)  # what the worker says then
    assert finished == [entry] and entry.relevance is None and not requests.is_waiting(entry)
    # stopped or empty answers, and a chat with the relevance off, ask for nothing
    assert not requests.request(8, answered_entry(cancelled=True))
    assert not requests.request(9, answered_entry(tokens=()))
    requests.set_enabled(False)
    assert not requests.request(10, answered_entry()) and len(sent) == 1


def test_a_bundle_without_relevance_is_said_once_and_not_asked_again():
    requests, sent, said = RelevanceRequests(), [], []
    requests.requested.connect(lambda *a: sent.append(a))
    requests.said.connect(said.append)
    requests.request(1, answered_entry())
    requests.undefined(1, "Med3DVLM's tokens do not belong to particular slices")
    assert requests.unavailable.startswith("Med3DVLM") and not requests.shown
    assert not requests.request(2, answered_entry(2)) and len(sent) == 1
    assert not any("Med3DVLM" in s for s in said)  # the panel says it, in its own line


def test_the_occlusion_line_counts_stored_slices_from_one():
    entry = answered_entry()
    assert entry.occlusion_words() == ""

    class Relevance:  # what Entry reads of a SliceRelevance
        original = np.array([0.1, -0.2, 0.9, 0.4, 0.0])

    entry.relevance = Relevance()
    assert entry.occlusion_words() == ("occlusion: blanking stored slices 1, 3-4 of 5 lowered this answer's "
                                       "log-probability most (up to 0.90 nats)")
    # a slab of several slices shares its value: all of them are named, none singled out
    Relevance.original = np.array([0.0, 0.5, 0.5, 0.5, 0.5, 0.2])
    assert entry.occlusion_words().startswith("occlusion: blanking stored slices 2-5 of 6 lowered")
    Relevance.original = np.array([0.0, 0.7, 0.1])
    assert entry.occlusion_words().startswith("occlusion: blanking stored slices 2-3 of 3")  # positive ones only
    Relevance.original = np.array([-0.1, 0.0])
    assert "none of the 2 stored slices" in entry.occlusion_words()


def test_negative_values_are_grey_and_positive_ones_warm(qapp):
    from viewer.views.occlusion_strip import occlusion_color

    for value in (-1.0, -0.3, -0.01):
        c = occlusion_color(value, 1.0)
        assert c.red() == c.green() == c.blue()
    assert occlusion_color(-1.0, 1.0).red() > occlusion_color(-0.1, 1.0).red()  # lighter: larger
    for value in (0.01, 0.5, 1.0):
        c = occlusion_color(value, 1.0)
        assert c.red() > c.green() >= 0 and c.red() > c.blue()
    assert sum(occlusion_color(1.0, 1.0).getRgb()[:3]) > sum(occlusion_color(0.2, 1.0).getRgb()[:3])


# ------------------------------------------------------------------ the default bundle
@pytest.fixture(scope="module")
def demo_win(qapp, tmp_path_factory):
    """A window with the chat on the default bundle and the demo CT encoded."""
    with chat_window(model_data_dir(tmp_path_factory.mktemp("appdata")), DEMO_CT) as win:
        yield win


def ask_with_relevance(win, question: str = QUESTION):
    """Ask and wait for the answer's occlusion relevance too; returns the entry and the statuses said."""
    model, said = win.chat.model, []
    model.status_changed.connect(lambda: said.append(model.status))
    entry, _ = ask(win, question)
    if model.relevance.is_waiting(entry):
        wait_for(win.chat_panel.relevanceFinished, 120000, until=lambda e: e is entry)
    return entry, said


def direct_relevance(win, entry) -> np.ndarray:
    """The entry's relevance computed here, on the worker's session (idle), as ``ctchat ask --relevance``."""
    from inference.chat.relevance import occlusion_relevance

    return occlusion_relevance(win.chat.thread.worker.session, entry.answer).original


def pixel(widget, x: float, y: float) -> QtGui.QColor:
    return QtGui.QColor(widget.grab().toImage().pixel(int(x), int(y)))


@pytest.mark.gui
def test_the_answer_gets_an_occlusion_strip_beside_tgis(demo_win):
    win, panel = demo_win, demo_win.chat_panel
    strip, tgis = win.chat.occlusion_strip, win.heat_strip
    assert strip.isVisible() and tgis.isVisible()
    entry, said = ask_with_relevance(win)
    assert any(s.startswith("Computing occlusion relevance for Q1") for s in said), said
    assert "occlusion relevance of Q1 computed" in panel.status.text()
    assert entry.relevance is not None and entry.occlusion.shape == (N_SLICES,)
    # the strip draws this answer's values, one per stored slice: those computed directly
    assert strip.scores.size == N_SLICES and np.array_equal(strip.model.stored, entry.occlusion)
    assert np.allclose(strip.model.stored, direct_relevance(win, entry), atol=1e-4)
    assert strip.question == f"Q1: {QUESTION}" and strip.TITLE == "occlusion"
    assert "how much blanking these slices (their image tokens set to zero) changes this answer" in strip.caption()
    assert "how much blanking these slices (their image tokens set to zero) changes this answer" in strip.toolTip()
    assert "grey" in strip.toolTip() and "Negative" in strip.toolTip()
    # side by side beside the axial scroller, each labelled: TG-IS, then occlusion, then the scroller
    scroller = win.axial.scroller
    assert tgis.parent() is strip.parent() is scroller.parent()
    assert tgis.geometry().right() < strip.geometry().left() < strip.geometry().right() < scroller.geometry().left()
    assert tgis.TITLE == "TG-IS" and np.array_equal(tgis.scores, entry.scores)
    # on screen: positive cells warm, negative ones grey
    strip.set_current(-1)
    x = strip.cell_rect(0).center().x()
    values = entry.occlusion
    for k in (int(np.argmax(values)), int(np.argmin(values))):
        c = pixel(strip, x, strip.cell_rect(k).center().y())
        if values[k] > 0:
            assert c.red() > c.blue() and c.red() > c.green(), (k, c.getRgb())
        elif values[k] < 0:
            assert c.red() == c.green() == c.blue(), (k, c.getRgb())
    assert strip.peak_label() == f"◀{int(np.argmax(values)) + 1}"
    assert entry.occlusion_words() in panel.answer_view.toPlainText()


@pytest.mark.gui
def test_a_click_on_the_occlusion_strip_goes_to_the_slice(demo_win):
    win, strip = demo_win, demo_win.chat.occlusion_strip
    for k in (strip.peak_slice(), 5, 60):
        if k == win.axial.slice_index:
            continue
        QTest.mouseClick(strip, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         strip.cell_rect(k).center().toPoint())
        assert win.axial.slice_index == k and strip.current == k and win.heat_strip.current == k


@pytest.mark.gui
def test_the_scores_table_its_csv_and_the_report_hold_both(demo_win, tmp_path):
    from inference.io import scan_identity
    from viewer.chat.scores_slices import SLICE_COLUMNS, slices_csv

    win, panel = demo_win, demo_win.chat_panel
    entry = next(e for e in panel.entries if e.relevance is not None)
    scan_id = scan_identity(win.scan.volume)
    summary = win.chat.model.model_info["summary"]
    bundle = (summary["name"], str(summary["version"]))
    rows = list(csv.DictReader(io.StringIO(slices_csv(panel.entries, scan_id, bundle))))
    mine = [r for r in rows if r["question_number"] == str(entry.qid)]
    assert list(rows[0]) == list(SLICE_COLUMNS) and "tgis" in rows[0] and "occlusion_nats" in rows[0]
    assert [int(r["stored_slice"]) for r in mine] == list(range(1, N_SLICES + 1))
    assert all(r["question"] == QUESTION and r["scan_id"] == scan_id and (r["bundle"], r["bundle_version"]) == bundle
               for r in mine)
    assert np.allclose([float(r["tgis"]) for r in mine], entry.scores, atol=1e-5)
    assert np.allclose([float(r["occlusion_nats"]) for r in mine], entry.occlusion, atol=1e-5)

    dialog = win.show_scores_table()
    try:
        answered = [e for e in panel.entries if e.scores is not None or e.relevance is not None]
        assert dialog.slices_table.rowCount() == N_SLICES * len(answered)
        assert dialog.table.columnCount() == N_SLICES  # TG-IS by question, as before
        dialog.save_slices_csv(tmp_path / "slices.csv")
        assert (tmp_path / "slices.csv").read_bytes().decode() == slices_csv(panel.entries, scan_id, bundle)
    finally:
        dialog.close()
    report = win.export_report(tmp_path / "report.html").read_text()
    assert entry.occlusion_words().replace("'", "&#x27;") in report


@pytest.mark.gui
def test_a_question_asked_before_the_relevance_starts_goes_first(demo_win):
    import threading

    win, panel = demo_win, demo_win.chat_panel
    worker = win.chat.thread.worker
    released, held, skipped = threading.Event(), [], []

    def hold_after_the_first_answer(request_id, _answer):  # in the worker thread, after the answer is sent
        if not held:
            held.append(request_id)
            released.wait(30)

    worker.answered.connect(hold_after_the_first_answer, Qt.ConnectionType.DirectConnection)
    worker.relevanceSkipped.connect(skipped.append, Qt.ConnectionType.DirectConnection)
    try:
        first = panel.ask("Is there a nodule?")
        wait_for(panel.answerFinished, until=lambda e: e is first)
        assert win.chat.model.relevance.is_waiting(first)  # asked for; the worker has not started it
        second = panel.ask("Where is the lesion located?")
        released.set()
        wait_for(panel.relevanceFinished, 120000, until=lambda e: e is second)
    finally:
        released.set()
        worker.answered.disconnect(hold_after_the_first_answer)
        worker.relevanceSkipped.disconnect(skipped.append)
    assert first.relevance is None and skipped == held  # kept from starting
    assert second.answer is not None and second.relevance is not None


@pytest.mark.gui
def test_turned_off_nothing_is_computed(demo_win):
    win, model = demo_win, demo_win.chat.model
    action = next(a for a in win.view_menu.actions() if a.text() == "&Occlusion relevance after each answer")
    assert action is win.chat.relevance_action and action.isCheckable() and action.isChecked()
    requested: list = []
    model.relevance.requested.connect(lambda *a: requested.append(a))
    worker = win.chat.thread.worker
    came_back: list = []
    for signal in (worker.relevanceDone, worker.relevanceSkipped, worker.relevanceFailed):
        signal.connect(lambda *a: came_back.append(a))
    action.trigger()  # off
    try:
        assert not model.relevance.enabled and not win.chat.occlusion_strip.isVisible()
        entry, said = ask_with_relevance(win, "Is there a nodule?")
        loop = QtCore.QEventLoop()  # anything the worker would still send arrives meanwhile
        QtCore.QTimer.singleShot(500, loop.quit)
        loop.exec()
        assert entry.answer is not None and entry.relevance is None
        assert requested == [] and came_back == []
        assert not any("occlusion" in s for s in said)
        assert win.chat_panel.status.text() == "Ready. Ask another question."
    finally:
        action.trigger()  # on again
    assert model.relevance.enabled and win.chat.occlusion_strip.isVisible()
    # the strip of an answer without relevance is empty and says why
    assert win.chat.occlusion_strip.scores.size == 0 and "no occlusion relevance" in win.chat.occlusion_strip.question


# ------------------------------------------------------------------ a slice-set bundle
@pytest.fixture(scope="module")
def slice_win(qapp, tmp_path_factory):
    """A window with the chat on the tiny slice-set bundle (4 slices sent) and the demo CT encoded."""
    pytest.importorskip("torch")  # the random Gemma 3 is written with torch
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slices"))
    from tiny_bundle import make_tiny_bundle

    from inference.slices.recipe import SliceRecipe

    bundle = make_tiny_bundle(tmp_path_factory.mktemp("tiny"), SliceRecipe(max_slices=6))
    with chat_window(tmp_path_factory.mktemp("appdata"), DEMO_CT, bundle=str(bundle), slices=4) as win:
        yield win


@pytest.mark.gui
def test_a_slice_set_answer_gets_the_strip_beside_its_sent_marks(slice_win):
    win = slice_win
    strip, marks = win.chat.occlusion_strip, win.chat.sent_marks
    entry, _ = ask_with_relevance(win, "Is there a nodule in the right lung?")
    sent = win.chat.thread.worker.session.sent_slices
    assert entry.scores is None and entry.relevance is not None  # no TG-IS, occlusion all the same
    assert strip.isVisible() and marks.isVisible() and not any(s.isVisible() for s in win.heat_strips)
    assert marks.model.stored == sent and len(sent) == 4
    assert strip.scores.size == N_SLICES
    assert np.allclose(strip.model.stored, direct_relevance(win, entry), atol=1e-4)
    # each stored slice takes its nearest sent slice's value: as many values as slices sent, at most
    assert len(set(np.round(entry.occlusion, 9))) <= len(sent)
    assert np.array_equal(entry.occlusion[list(sent)], entry.relevance.slab_values)  # a sent slice: its own
    # the strip, then the marks, then the scroller
    assert strip.geometry().right() < marks.geometry().left() < win.axial.scroller.geometry().left()
    dialog = win.show_scores_table()
    try:
        assert dialog.table.rowCount() == 0 and dialog.tabs.currentIndex() == 1  # occlusion only
        assert dialog.slices_table.rowCount() == N_SLICES and dialog.slices_table.item(0, 2) is None
    finally:
        dialog.close()


@pytest.mark.gui
def test_a_bundle_without_relevance_says_why_once(slice_win, monkeypatch):
    """The worker's NoRelevance (Med3DVLM's tokens cover no slices) as the viewer shows it."""
    import inference.chat.relevance as relevance

    def no_relevance(_session, _answer, cancel=None):
        raise relevance.NoRelevance("this model's image tokens do not belong to particular slices")

    monkeypatch.setattr(relevance, "occlusion_relevance", no_relevance)
    win, panel = slice_win, slice_win.chat_panel
    entry, _ = ask_with_relevance(win, "Is there a nodule?")
    assert entry.relevance is None and win.chat.model.relevance.unavailable
    assert panel.relevance_label.isVisible()
    assert panel.relevance_label.text() == ("No occlusion relevance with this model: this model's image tokens "
                                            "do not belong to particular slices.")
    assert not win.chat.occlusion_strip.isVisible() and win.chat.sent_marks.isVisible()
    second, said = ask_with_relevance(win, "Anything else?")
    assert second.relevance is None and not any("occlusion" in s.lower() for s in said)
    assert panel.relevance_label.isVisible()  # said once, in its own line, not per answer
