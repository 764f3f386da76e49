"""The chat transcript in the viewer: export, copy, the model's card, other scans, bad input.

One window with the A0001 chest and one ChatSession for the whole module (``chat_win`` in
conftest; the default bundle, a demonstration model: the mechanism is what is tested).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from chat_helpers import ask, latest, open_and_encode, wait_for
from gui_helpers import A0001_DICOM
from PySide6 import QtCore

pytestmark = pytest.mark.gui


def test_export_report_and_scores_csv(chat_win, tmp_path):
    from inference.io import scan_identity
    from viewer.chat.scores_table import scores_csv

    win, panel = chat_win, chat_win.chat_panel
    ask(win, "Is the <heart> & aorta normal?")
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

    scan_id = scan_identity(win.scan.volume)
    bundle = (win.chat.model.model_info["summary"]["name"], str(win.chat.model.model_info["summary"]["version"]))
    rows = list(csv.reader(io.StringIO(scores_csv(panel.entries, scan_id, bundle))))
    assert rows[0][:4] == ["question", "task", "answer", "stopped"] and len(rows[0]) == 4 + 3 + 64
    assert rows[0][4:8] == ["scan_id", "bundle", "bundle_version", "stored_slice_1"]
    assert len(rows) == 1 + len(panel.entries)
    for row, entry in zip(rows[1:], panel.entries):
        assert row[4:7] == [scan_id, *bundle] and bundle[0]
        values = np.array(row[7:], dtype=float)
        assert np.allclose(values, entry.scores, atol=1e-5)
    dialog = win.show_scores_table()
    assert dialog.table.rowCount() == len(panel.entries) and dialog.table.columnCount() == 64
    dialog.save_csv(tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_bytes().decode() == scores_csv(panel.entries, scan_id, bundle)
    dialog.close()


def test_transcript_survives_a_failed_reload(chat_win, tmp_path):
    win, panel = chat_win, chat_win.chat_panel
    n = len(panel.entries)
    assert n > 0
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"not a nifti")
    win.open_path(str(bad))
    assert wait_for(win.loadFinished) == ["failed"]
    assert len(panel.entries) == n and panel.history.count() == n
    assert panel.state == "ready" and win.heat_strip.scores.size == 64


def test_a_missing_bundle_leaves_the_viewer_working(qtbot):
    from viewer.window.main_window import MainWindow

    win = MainWindow(chat=True, bundle="/nonexistent/bundle")
    qtbot.addWidget(win)
    panel = win.chat_panel
    if panel.state != "failed":
        wait_for(panel.stateChanged, 30000, until=lambda s: s == "failed")
    status = panel.status.text()
    assert "could not be loaded" in status and "/nonexistent/bundle" in status
    assert "Error" not in status  # the user reads a sentence, never an exception's type name
    assert panel.ask("anything") is None and not panel.ask_button.isEnabled()
    assert win.axial.isEnabled()
    win.close()


def test_copy_link_and_button_copy_the_answer(chat_win):
    from PySide6 import QtWidgets

    panel = chat_win.chat_panel
    entry = latest(chat_win)
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
    latest(win)
    dialog = win.show_scores_table()
    row, col = dialog.peak
    assert row == dialog.table.rowCount() - 1 and col == int(np.argmax(dialog.entries[-1].scores))
    assert dialog.table.currentRow() == row and dialog.table.currentColumn() == col
    dialog.close()


def test_history_survives_another_scan_and_the_region_is_said(chat_win, tmp_path):
    from gui_helpers import SMALL_NIFTI

    win, panel = chat_win, chat_win.chat_panel
    before = [(e.qid, e.shown, e.text) for e in panel.entries]
    assert before and not panel.region_label.isVisible()
    open_and_encode(win, SMALL_NIFTI)  # an abdomen CT, with the chest bundle
    assert panel.entries == [] and panel.history.count() == 0
    assert panel.region_label.isVisible() and "outside the trained region" in panel.region_label.text()
    entry, _ = ask(win, "Is there a nodule?")
    assert any("outside the trained region" in n for n in entry.notes)
    open_and_encode(win, A0001_DICOM)  # back: the chest's transcript is restored
    assert [(e.qid, e.shown, e.text) for e in panel.entries] == before
    assert panel.history.count() == len(before) and not panel.region_label.isVisible()
    assert np.array_equal(win.heat_strip.scores, panel.entries[-1].scores)
    report = win.export_report(tmp_path / "session.html").read_text()
    assert "Other scan 1 of this session" in report and "outside the trained region" in report
    open_and_encode(win, SMALL_NIFTI)
    assert [e.text for e in panel.entries] == [entry.text]
    open_and_encode(win, A0001_DICOM)


def test_a_head_ct_with_the_chest_bundle_gets_the_notice(chat_win):
    from gui_helpers import DATA

    win, panel = chat_win, chat_win.chat_panel
    open_and_encode(win, DATA / "tiny" / "monai_CT_DICOM_16x16")  # real head CT crops (MONAI)
    assert panel.region_label.isVisible() and "this model was trained on chest CT only" in panel.region_label.text()
    assert panel.entries == [] and "too small to show whether it holds the lungs" in panel.answer_view.toPlainText()
    open_and_encode(win, A0001_DICOM)
    assert not panel.region_label.isVisible()


def test_slice_numbers_agree_on_a_resampled_series(chat_win, tmp_path):
    """60 stored slices shown as 64 (four left out of A0001): the transcript, the strip's marker
    and tooltip, a click on the strip and the report all count on the stored slices."""
    import pydicom
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from viewer.models.slice_scores import displayed_slice

    files = sorted(A0001_DICOM.iterdir(),
                   key=lambda f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))
    gapped = tmp_path / "gapped"
    gapped.mkdir()
    for k, f in enumerate(files):
        if k not in (20, 40, 41, 42):
            (gapped / f.name).write_bytes(f.read_bytes())
    win, panel = chat_win, chat_win.chat_panel
    open_and_encode(win, gapped)
    vol, strip = win.scan.volume, win.heat_strip
    assert vol.n_original == 60 and vol.shape[0] == 64
    entry, _ = ask(win, "Is there a nodule?")
    top = entry.answer.top_slices[0]  # an index of the stored slices
    said = entry.answer.top_range()
    assert said.startswith("stored slice") and said.endswith("of 60") and f"{said} scored highest" in \
        panel.answer_view.toPlainText()
    assert entry.answer.scores_record()["top_slices"][0] == top + 1  # as ask --json and batch lines write it
    assert strip.peak_label() == f"◀{top + 1}"
    assert strip.peak_slice() == displayed_slice(vol, top)
    for s in (top, 25, 55):  # stored slice 56 is displayed slice 60
        k = displayed_slice(vol, s)
        assert float(vol.grid_to_original(k)) == pytest.approx(s)
        assert strip.model.slice_words(k) == f"stored slice {s + 1} of 60 (displayed slice {k + 1} of 64)"
        QTest.mouseClick(strip, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         strip.cell_rect(k).center().toPoint())
        assert win.axial.slice_index == k
    assert displayed_slice(vol, 55) == 59
    assert strip.model.slice_words(20).startswith("between stored slices 20 and 21 of 60")  # interpolated
    report = win.export_report(tmp_path / "report.html").read_text()
    assert f"stored axial slice {top + 1}, the highest-scored, of 60; displayed slice " \
           f"{displayed_slice(vol, top) + 1} of 64" in report
    assert f"{said} scored highest" in report
    open_and_encode(win, A0001_DICOM)
