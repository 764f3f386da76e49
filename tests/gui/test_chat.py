"""The chat panel in the viewer: ask, stream, stop, history and the TG-IS heat strips.

One window with the A0001 chest and one ChatSession for the whole module (``chat_win`` in
conftest; the default bundle, a demonstration model: the mechanism is what is tested, not the
answers). The transcript, its export and other scans are in test_chat_transcript.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from chat_helpers import ask, latest, wait_for
from gui_helpers import wheel
from PySide6 import QtCore, QtGui
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

pytestmark = pytest.mark.gui


def test_ask_streams_the_answer_and_draws_its_strip(chat_win):
    win, panel = chat_win, chat_win.chat_panel
    entry, pieces = ask(win)
    assert len(pieces) >= 2  # streamed piece by piece, not in one block
    assert entry.text == "".join(pieces).strip() and entry.text
    assert not entry.stopped
    shown = panel.answer_view.toPlainText()
    assert entry.text in shown
    assert f"{entry.answer.top_range()} scored highest" in shown
    assert np.array_equal(win.heat_strip.scores, entry.answer.original_scores)
    assert win.heat_strip.scores.size == win.axial.n_slices == 64
    # What the model saw and where it ran; the banner says what the bundle is, plainly.
    assert panel.banner.isVisible()
    if panel.model_info["trained"]:
        assert "not a medical device" in panel.banner.text()
    else:
        assert "untrained" in panel.banner.text()
    assert "HU window [-1000, 1000]" in panel.model_label.text()
    assert "CPUExecutionProvider" in panel.model_label.text()


def test_the_streaming_answer_grows_in_place_as_a_full_render_shows_it(chat_win):
    from viewer.chat.transcript_html import transcript_html

    panel = chat_win.chat_panel
    seen: list[tuple[str, str, bool]] = []

    def on_piece(_qid, _s):  # runs after the panel's own slot (connected first)
        doc = QtGui.QTextDocument()
        doc.setHtml(transcript_html(panel.entries, panel.selected(), panel.transcript.region_notice))
        seen.append((panel.answer_view.toPlainText(), doc.toPlainText(), panel._stream._cursor is not None))

    panel.chat.worker.piece.connect(on_piece)
    try:
        entry, pieces = ask(chat_win, "Describe the lungs.", max_tokens=24)
    finally:
        panel.chat.worker.piece.disconnect(on_piece)
    assert len(seen) == len(pieces) >= 3
    assert sum(in_place for *_, in_place in seen) >= len(seen) - 2  # not rendered anew per piece
    for shown, full, _ in seen:  # the same text as a whole render, up to HTML's white space
        assert " ".join(shown.split()).startswith(" ".join(full.split()))
    assert entry.text in panel.answer_view.toPlainText()


def test_slice_views_stay_interactive_while_answering(chat_win):
    win, panel = chat_win, chat_win.chat_panel
    steps: list[tuple[int, int, str]] = []

    def on_piece(_qid, _s):
        if not steps:  # mid-answer: a wheel notch must move the axial view at once
            k = win.axial.slice_index
            wheel(win.axial.canvas, 1)
            steps.append((k, win.axial.slice_index, panel.state))

    panel.chat.worker.piece.connect(on_piece)
    try:
        ask(win, "Describe the lungs.", max_tokens=24)
    finally:
        panel.chat.worker.piece.disconnect(on_piece)
    assert steps, "no piece streamed"
    before, after, state = steps[0]
    assert state == "answering" and after == before + 1


def test_strip_peak_is_the_highest_score_mapped_back(chat_win):
    from viewer.views.heat_strip import luminance

    win = chat_win
    entry = latest(win)
    scores = entry.answer.original_scores
    expected = int(np.argmax(scores))
    assert win.chat_panel.selected() is entry
    assert win.heat_strip.peak_slice() == expected == entry.answer.top_slices[0]
    # On screen: the brightest cell of the painted strip is that slice.
    strip = win.heat_strip
    strip.set_current(-1)
    img = strip.grab().toImage()
    x = int(strip.cell_rect(0).center().x())
    bright = [luminance(QtGui.QColor(img.pixel(x, int(strip.cell_rect(k).center().y()))))
              for k in range(len(scores))]
    # 8-bit colours: scores within ~0.2 % of the peak may draw as bright as it.
    brightest = [k for k, b in enumerate(bright) if b == max(bright)]
    assert expected in brightest
    assert all(scores[k] >= 0.995 * scores[expected] for k in brightest)
    assert bright[expected] > min(bright)


def test_clicking_the_strip_sets_the_axial_slice(chat_win):
    win = chat_win
    latest(win)
    strip = win.heat_strip
    for k in (win.heat_strip.peak_slice(), 3, 60):
        if k == win.axial.slice_index:
            continue
        QTest.mouseClick(strip, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         strip.cell_rect(k).center().toPoint())
        assert win.axial.slice_index == k
        assert win.coronal.position[0] == k  # linked views follow
        assert strip.current == k
    # Slice 0 is at the bottom, as on the (inverted) axial scroller.
    assert strip.cell_rect(0).top() > strip.cell_rect(63).top()


def test_stop_keeps_what_streamed(chat_win):
    win, panel = chat_win, chat_win.chat_panel
    def press_stop(_qid, _s):
        panel.stop_button.click()

    panel.chat.worker.piece.connect(press_stop)
    try:
        entry, pieces = ask(win, "Write a long description of every organ.", max_tokens=200)
    finally:
        panel.chat.worker.piece.disconnect(press_stop)
    assert entry.stopped and entry.answer.n_tokens < 200
    assert pieces and entry.text == "".join(pieces).strip()
    assert "(stopped)" in panel.history.item(len(panel.entries) - 1).text()
    assert "(stopped)" in panel.answer_view.toPlainText()
    assert panel.state == "ready" and panel.ask_button.isEnabled()


def test_history_switching_shows_each_questions_scores(chat_win):
    win, panel = chat_win, chat_win.chat_panel
    panel.disease_box.setCurrentText("emphysema")
    panel.yes_no_button.click()
    wait_for(panel.answerFinished)
    panel.findings_button.click()
    wait_for(panel.answerFinished)
    yes_no, findings = panel.entries[-2], panel.entries[-1]
    assert yes_no.shown == "Does this image show signs of emphysema?" and findings.task == "report"
    assert not np.allclose(yes_no.scores, findings.scores)  # TG-IS depends on the question
    assert np.array_equal(win.heat_strip.scores, findings.scores)
    panel.history.setCurrentRow(len(panel.entries) - 2)
    assert np.array_equal(win.heat_strip.scores, yes_no.scores)
    assert "emphysema" in panel.answer_view.toPlainText()
    # a disease the bundle does not declare: the warning sits beside the answer, which is kept as written
    assert yes_no.notes and yes_no.notes[0].startswith("This model was not trained to answer this")
    assert yes_no.text == yes_no.answer.text and "not trained to answer this" in panel.answer_view.toPlainText()
    assert panel.history.item(len(panel.entries) - 2).text().startswith(f"{yes_no.qid}. ⚠")
    assert f"P(yes) {yes_no.answer.yes_probability:.2f}" in panel.answer_view.toPlainText()
    panel.history.setCurrentRow(0)
    assert np.array_equal(win.heat_strip.scores, panel.entries[0].scores)


def test_a_choice_question_does_not_leak_into_the_next(chat_win):
    win, panel = chat_win, chat_win.chat_panel
    panel.question_box.setText("Which plane is this?")
    panel.choices_box.setText("axial; coronal; sagittal")
    panel.ask_typed()
    choice = panel.entries[-1]
    wait_for(panel.answerFinished, until=lambda e: e is choice)
    assert choice.task == "choice" and choice.question.choices == ("axial", "coronal", "sagittal")
    assert panel.choices_box.text() == "" and panel.question_box.text() == ""
    panel.question_box.setText("Is there a nodule?")
    panel.ask_typed()
    following = panel.entries[-1]
    wait_for(panel.answerFinished, until=lambda e: e is following)
    assert following.task == "open" and following.question.choices == ()


def test_a_choice_answer_names_one_option_and_the_transcript_says_which(chat_win):
    panel = chat_win.chat_panel
    panel.question_box.setText("In which plane is this CT shown?")
    panel.choices_box.setText("coronal; sagittal")
    panel.ask_typed()
    entry = panel.entries[-1]
    wait_for(panel.answerFinished, until=lambda e: e is entry)
    assert entry.answer.text in ("coronal (A)", "sagittal (B)")  # unconstrained, the model says "axial (B)"
    assert f"Option {entry.choice.letter}: {entry.choice.text}" in panel.answer_view.toPlainText()


def test_typed_request_for_the_findings_asks_the_report_task(chat_win):
    panel = chat_win.chat_panel
    panel.question_box.setText("Write the findings for this CT.")
    panel.ask_typed()
    entry = panel.entries[-1]
    wait_for(panel.answerFinished, until=lambda e: e is entry)
    assert entry.task == "report" and entry.question.shown == "Write the findings of this CT scan."


def test_sagittal_and_coronal_strips_follow_the_image_rows(chat_win):
    win = chat_win
    entry = latest(win)
    QtCore.QCoreApplication.processEvents()
    for view, strip in ((win.sagittal, win.heat_strips[1]), (win.coronal, win.heat_strips[2])):
        assert np.array_equal(strip.scores, win.heat_strip.scores) and strip.peak_slice() == entry.answer.top_slices[0]
        assert strip.question == f"Q{entry.qid}: {entry.shown}"
        _, j, i = view.position
        for k in (10, 40):
            row = view.canvas.mapTo(view, view.widget_point_of((k, j, i))).y() - strip.y()
            assert abs(strip.cell_rect(k).center().y() - row) < 1.0
        assert strip.cell_rect(40).top() < strip.cell_rect(10).top()  # superior slices higher up


def test_one_multiple_choice_option_names_the_separator(chat_win):
    panel = chat_win.chat_panel
    n = len(panel.entries)
    panel.question_box.setText("Which lung?")
    panel.choices_box.setText("left lung, right lung")  # commas: read as one option
    panel.ask_typed()
    assert "2 to" in panel.status.text() and "separate the options with ';'" in panel.status.text()
    assert len(panel.entries) == n
    panel.question_box.clear()
    panel.choices_box.clear()
