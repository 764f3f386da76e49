"""The chat panel in the viewer: ask, stream, stop, history, the TG-IS heat strip, export.

One window with the A0001 chest and one ChatSession for the whole module (the default
bundle, a demonstration model: the mechanism is what is tested, not the answers).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from gui_helpers import A0001_DICOM, model_data_dir, need, wheel
from PySide6 import QtCore, QtGui
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

pytestmark = pytest.mark.gui


def _wait(signal, timeout_ms: int = 60000, until=lambda *a: True) -> list:
    """Run a QEventLoop (not qtbot.wait: the worker threads need the GIL) until ``signal``
    fires with arguments that satisfy ``until``; returns those arguments."""
    got: list = []
    loop = QtCore.QEventLoop()

    def slot(*args):
        if not got and until(*args):
            got.append(args)
            loop.quit()

    signal.connect(slot)
    QtCore.QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(slot)
    assert got, f"timed out waiting for {signal}"
    return list(got[0])


@pytest.fixture(scope="module")
def chat_win(qapp, tmp_path_factory):
    """A window with the chat panel and the A0001 chest, the model ready to answer."""
    from viewer.app import MainWindow

    need(A0001_DICOM)
    mp = pytest.MonkeyPatch()
    mp.setenv("CTCHAT_DATA_DIR", str(model_data_dir(tmp_path_factory.mktemp("appdata"))))
    win = MainWindow(chat=True, max_tokens=8)
    win.resize(1500, 900)
    win.show()
    QTest.qWaitForWindowExposed(win)
    panel = win.chat_panel
    win.open_path(str(A0001_DICOM))
    if panel.state != "ready":
        _wait(panel.stateChanged, 90000, until=lambda s: s in ("ready", "failed", "scan_failed"))
    assert panel.state == "ready", panel.status.text()
    yield win
    win.close()
    assert not panel.chat.thread.isRunning()
    mp.undo()


def _ask(win, question: str = "Is there a nodule in the right upper lobe?", **kw):
    """Ask through the panel and wait for the answer; returns (entry, streamed pieces)."""
    panel = win.chat_panel
    pieces: list[str] = []

    def collect(_qid, s):
        pieces.append(s)

    panel.chat.worker.piece.connect(collect)
    try:
        entry = panel.ask(question, **kw)
        assert entry is not None, panel.status.text()
        _wait(panel.answerFinished, until=lambda e: e is entry)
    finally:
        panel.chat.worker.piece.disconnect(collect)
    return entry, pieces


def _latest(win):
    """The latest answered entry, selected (asks one question when there is none)."""
    panel = win.chat_panel
    if not any(e.answer is not None for e in panel.entries):
        _ask(win)
    row = max(n for n, e in enumerate(panel.entries) if e.answer is not None)
    panel.history.setCurrentRow(row)
    return panel.entries[row]


def test_ask_streams_the_answer_and_draws_its_strip(chat_win):
    win, panel = chat_win, chat_win.chat_panel
    entry, pieces = _ask(win)
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
    from viewer.transcript import transcript_html

    panel = chat_win.chat_panel
    seen: list[tuple[str, str, bool]] = []

    def on_piece(_qid, _s):  # runs after the panel's own slot (connected first)
        doc = QtGui.QTextDocument()
        doc.setHtml(transcript_html(panel.entries, panel.selected(), panel.transcript.region_notice))
        seen.append((panel.answer_view.toPlainText(), doc.toPlainText(), panel._stream._cursor is not None))

    panel.chat.worker.piece.connect(on_piece)
    try:
        entry, pieces = _ask(chat_win, "Describe the lungs.", max_tokens=24)
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
        _ask(win, "Describe the lungs.", max_tokens=24)
    finally:
        panel.chat.worker.piece.disconnect(on_piece)
    assert steps, "no piece streamed"
    before, after, state = steps[0]
    assert state == "answering" and after == before + 1


def test_strip_peak_is_the_highest_score_mapped_back(chat_win):
    from viewer.heat_strip import luminance

    win = chat_win
    entry = _latest(win)
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
    _latest(win)
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
        entry, pieces = _ask(win, "Write a long description of every organ.", max_tokens=200)
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
    _wait(panel.answerFinished)
    panel.findings_button.click()
    _wait(panel.answerFinished)
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


def test_export_report_and_scores_csv(chat_win, tmp_path):
    from viewer.scores_table import scores_csv

    win, panel = chat_win, chat_win.chat_panel
    _ask(win, "Is the <heart> & aorta normal?")
    before = win.position
    out = win.export_report(tmp_path / "report.html")
    assert win.position == before  # the peak-slice pictures put the crosshair back
    text = out.read_text()
    assert "Is the &lt;heart&gt; &amp; aorta normal?" in text and "<heart>" not in text
    # one strip per question, the window, and the axial view at each question's top slice
    answered = [e for e in panel.entries if e.answer is not None]
    assert text.count("data:image/png;base64,") == 2 * len(answered) + 1
    assert f"axial slice {answered[0].answer.top_slices[0] + 1}, the highest-scored" in text
    assert "Demonstration model" in text and "CPUExecutionProvider" in text and "[-1000, 1000]" in text
    assert "Philips" in text and "512 × 512 × 64" in text
    for identifying in ("PatientName", "patient_name", "PatientID", "birth"):
        assert identifying not in text

    pdf = win.export_report(tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Subtype /Image") >= 2

    rows = list(csv.reader(io.StringIO(scores_csv(panel.entries))))
    assert rows[0][:4] == ["question", "task", "answer", "stopped"] and len(rows[0]) == 4 + 64
    assert len(rows) == 1 + len(panel.entries)
    for row, entry in zip(rows[1:], panel.entries):
        values = np.array(row[4:], dtype=float)
        assert np.allclose(values, entry.scores, atol=1e-5)
    dialog = win.show_scores_table()
    assert dialog.table.rowCount() == len(panel.entries) and dialog.table.columnCount() == 64
    dialog.save_csv(tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_bytes().decode() == scores_csv(panel.entries)
    dialog.close()


def test_transcript_survives_a_failed_reload(chat_win, tmp_path):
    win, panel = chat_win, chat_win.chat_panel
    n = len(panel.entries)
    assert n > 0
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"not a nifti")
    win.open_path(str(bad))
    assert _wait(win.loadFinished) == ["failed"]
    assert len(panel.entries) == n and panel.history.count() == n
    assert panel.state == "ready" and win.heat_strip.scores.size == 64


def test_a_missing_bundle_leaves_the_viewer_working(qtbot):
    from viewer.app import MainWindow

    win = MainWindow(chat=True, bundle="/nonexistent/bundle")
    qtbot.addWidget(win)
    panel = win.chat_panel
    if panel.state != "failed":
        _wait(panel.stateChanged, 30000, until=lambda s: s == "failed")
    status = panel.status.text()
    assert "could not be loaded" in status and "/nonexistent/bundle" in status
    assert "Error" not in status  # the user reads a sentence, never an exception's type name
    assert panel.ask("anything") is None and not panel.ask_button.isEnabled()
    assert win.axial.isEnabled()
    win.close()


def test_a_choice_question_does_not_leak_into_the_next(chat_win):
    win, panel = chat_win, chat_win.chat_panel
    panel.question_box.setText("Which plane is this?")
    panel.choices_box.setText("axial; coronal; sagittal")
    panel.ask_typed()
    choice = panel.entries[-1]
    _wait(panel.answerFinished, until=lambda e: e is choice)
    assert choice.task == "choice" and choice.question.choices == ("axial", "coronal", "sagittal")
    assert panel.choices_box.text() == "" and panel.question_box.text() == ""
    panel.question_box.setText("Is there a nodule?")
    panel.ask_typed()
    following = panel.entries[-1]
    _wait(panel.answerFinished, until=lambda e: e is following)
    assert following.task == "open" and following.question.choices == ()


def test_typed_request_for_the_findings_asks_the_report_task(chat_win):
    panel = chat_win.chat_panel
    panel.question_box.setText("Write the findings for this CT.")
    panel.ask_typed()
    entry = panel.entries[-1]
    _wait(panel.answerFinished, until=lambda e: e is entry)
    assert entry.task == "report" and entry.question.shown == "Write the findings of this CT scan."


def test_copy_link_and_button_copy_the_answer(chat_win):
    from PySide6 import QtWidgets

    panel = chat_win.chat_panel
    entry = _latest(chat_win)
    assert f"copy:{entry.qid}" in panel.answer_view.toHtml()
    panel.answer_view.anchorClicked.emit(QtCore.QUrl(f"copy:{entry.qid}"))
    assert QtWidgets.QApplication.clipboard().text() == entry.shown_text() != ""
    QtWidgets.QApplication.clipboard().setText("")
    panel.copy_button.click()
    assert QtWidgets.QApplication.clipboard().text() == entry.shown_text()
    # the transcript shows every question of the scan, not only the selected one
    text = panel.answer_view.toPlainText()
    assert all(f"Q{e.qid}:" in text for e in panel.entries)


def test_about_this_model_says_what_it_was_trained_to_answer(chat_win):
    dialog = chat_win.chat_panel.show_about()
    text = dialog.text.toPlainText()
    assert "lung nodule" in text and "chest CT" in text and "under 12 mm" in text
    assert "not trained to answer this" in text
    assert chat_win.about_model_action.text() == "&About this model…"
    dialog.close()


def test_scores_table_opens_at_the_highest_scored_slice(chat_win):
    win = chat_win
    _latest(win)
    dialog = win.show_scores_table()
    row, col = dialog.peak
    assert row == dialog.table.rowCount() - 1 and col == int(np.argmax(dialog.entries[-1].scores))
    assert dialog.table.currentRow() == row and dialog.table.currentColumn() == col
    dialog.close()


def test_sagittal_and_coronal_strips_follow_the_image_rows(chat_win):
    win = chat_win
    entry = _latest(win)
    QtCore.QCoreApplication.processEvents()
    for view, strip in ((win.sagittal, win.heat_strips[1]), (win.coronal, win.heat_strips[2])):
        assert np.array_equal(strip.scores, win.heat_strip.scores) and strip.peak_slice() == entry.answer.top_slices[0]
        assert strip.question == f"Q{entry.qid}: {entry.shown}"
        _, j, i = view.position
        for k in (10, 40):
            row = view.canvas.mapTo(view, view.widget_point_of((k, j, i))).y() - strip.y()
            assert abs(strip.cell_rect(k).center().y() - row) < 1.0
        assert strip.cell_rect(40).top() < strip.cell_rect(10).top()  # superior slices higher up


def _open_and_encode(win, path):
    panel = win.chat_panel
    win.open_path(str(need(path)))
    assert _wait(win.loadFinished) == ["loaded"]
    if panel.state != "ready":
        _wait(panel.stateChanged, 90000, until=lambda s: s in ("ready", "scan_failed"))
    assert panel.state == "ready", panel.status.text()


def test_history_survives_another_scan_and_the_region_is_said(chat_win, tmp_path):
    from gui_helpers import SMALL_NIFTI

    win, panel = chat_win, chat_win.chat_panel
    before = [(e.qid, e.shown, e.text) for e in panel.entries]
    assert before and not panel.region_label.isVisible()
    _open_and_encode(win, SMALL_NIFTI)  # an abdomen CT, with the chest bundle
    assert panel.entries == [] and panel.history.count() == 0
    assert panel.region_label.isVisible() and "outside the trained region" in panel.region_label.text()
    entry, _ = _ask(win, "Is there a nodule?")
    assert any("outside the trained region" in n for n in entry.notes)
    _open_and_encode(win, A0001_DICOM)  # back: the chest's transcript is restored
    assert [(e.qid, e.shown, e.text) for e in panel.entries] == before
    assert panel.history.count() == len(before) and not panel.region_label.isVisible()
    assert np.array_equal(win.heat_strip.scores, panel.entries[-1].scores)
    report = win.export_report(tmp_path / "session.html").read_text()
    assert "Other scan 1 of this session" in report and "outside the trained region" in report
    _open_and_encode(win, SMALL_NIFTI)
    assert [e.text for e in panel.entries] == [entry.text]
    _open_and_encode(win, A0001_DICOM)


def test_a_head_ct_with_the_chest_bundle_gets_the_notice(chat_win):
    from gui_helpers import DATA

    win, panel = chat_win, chat_win.chat_panel
    _open_and_encode(win, DATA / "tiny" / "monai_CT_DICOM_16x16")  # real head CT crops (MONAI)
    assert panel.region_label.isVisible() and "this model was trained on chest CT only" in panel.region_label.text()
    assert panel.entries == [] and "too small to show whether it holds the lungs" in panel.answer_view.toPlainText()
    _open_and_encode(win, A0001_DICOM)
    assert not panel.region_label.isVisible()
