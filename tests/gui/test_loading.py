"""Loading in a worker: warnings shown, cancel, failures, drag and drop, recent files, series picker."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt

from gui_helpers import A0001_DICOM, CT5N_DICOM, GAP_DICOM, SMALL_NIFTI, drop_paths, load, need, wheel

pytestmark = pytest.mark.gui


def test_loader_warning_is_shown(window, qtbot):
    load(qtbot, window, need(GAP_DICOM))
    vol = window.scan.volume
    assert "slice_gap" in {w.code for w in vol.warnings}
    assert window.message_bar.isVisible() and window.message_bar.kind == "warning"
    shown = window.message_bar.text()
    for w in vol.warnings:
        assert w.message in shown
    assert "gap" in shown


def test_clean_scan_hides_previous_warning(window, qtbot):
    load(qtbot, window, need(GAP_DICOM))
    assert window.message_bar.isVisible()
    load(qtbot, window, need(SMALL_NIFTI))
    assert not window.message_bar.isVisible()


def test_cancel_keeps_previous_scan_and_window_usable(window, qtbot):
    load(qtbot, window, need(SMALL_NIFTI))
    first = window.scan
    k = window.axial.slice_index
    with qtbot.waitSignal(window.loadFinished, timeout=10000) as blocker:
        worker = window.open_path(str(need(A0001_DICOM)))
        assert window.progress.isVisible() and window.cancel_button.isVisible()
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["cancelled"]
    assert worker.is_cancelled
    assert not window.progress.isVisible() and not window.cancel_button.isVisible()
    qtbot.waitUntil(worker.isFinished, timeout=20000)
    qtbot.wait(100)  # any late signal from the worker would be delivered now
    assert window.scan is first and window.scan.volume.shape[1:] == (101, 122)
    wheel(window.axial.canvas, +1)  # still responsive on the old scan
    assert window.axial.slice_index == k + 1


def test_cancel_event_stops_the_loader():
    """The worker really passes cancel to inference.io: a pre-set event ends the load."""
    from viewer.window.load_worker import LoadWorker

    worker = LoadWorker(str(need(A0001_DICOM)))
    results = []
    worker.cancelled.connect(lambda: results.append("cancelled"), Qt.ConnectionType.DirectConnection)
    worker.loaded.connect(lambda _s: results.append("loaded"), Qt.ConnectionType.DirectConnection)
    worker.cancel()
    worker.run()  # synchronously, in this thread
    assert results == ["cancelled"]


def test_progress_is_reported(window, qtbot):
    seen = []
    worker = window.open_path(str(need(A0001_DICOM)))
    worker.progress.connect(lambda d, t: seen.append((d, t)))
    qtbot.waitSignal(window.loadFinished, timeout=60000).wait()
    assert seen and seen[-1][0] == seen[-1][1] > 0


def test_unreadable_file_shows_error_and_keeps_scan(window, qtbot, tmp_path):
    load(qtbot, window, need(SMALL_NIFTI))
    first = window.scan
    bad = tmp_path / "notes.dcm"
    bad.write_text("this is not a CT")
    load(qtbot, window, bad, expect="failed")
    assert window.message_bar.kind == "error" and window.message_bar.isVisible()
    assert window.message_bar.text().startswith("Could not open")
    assert window.scan is first


def test_drop_folder_opens_it(window, qtbot):
    with qtbot.waitSignal(window.loadFinished, timeout=30000) as blocker:
        assert drop_paths(window, [need(GAP_DICOM)])
    assert blocker.args == ["loaded"]
    # 4 stored slices, 3 of them 1.25 mm apart and one 202.5 mm away: shown on the 1.25 mm grid
    # (161 interpolated slices, said in the warning), the stored slices kept for the heat strip
    assert window.scan.volume.shape == (165, 16, 16)
    assert "slice_gap" in {w.code for w in window.scan.volume.warnings} and window.scan.volume.n_original == 4


def test_drop_several_files_opens_their_folder(window, qtbot):
    with qtbot.waitSignal(window.loadFinished, timeout=30000) as blocker:
        assert drop_paths(window, sorted(need(CT5N_DICOM).iterdir()))
    assert blocker.args == ["loaded"]
    assert window.scan.volume.shape == (5, 16, 16)


def test_recent_files_menu(window, qtbot):
    from viewer.models import recent

    load(qtbot, window, need(SMALL_NIFTI))
    load(qtbot, window, need(GAP_DICOM))
    assert recent.recent_files()[:2] == [str(GAP_DICOM.resolve()), str(SMALL_NIFTI.resolve())]
    window.file_menu.fill_recent_menu()
    actions = [a for a in window.recent_menu.actions() if a.text() == str(SMALL_NIFTI.resolve())]
    assert len(actions) == 1
    with qtbot.waitSignal(window.loadFinished, timeout=30000):
        actions[0].trigger()
    assert window.scan.volume.shape == (30, 101, 122)


def test_series_picker_for_folder_with_two_series(window, qtbot, tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    for src in (need(GAP_DICOM), need(CT5N_DICOM)):
        for f in src.iterdir():
            os.symlink(f, study / f"{src.name}_{f.name}")
    with qtbot.waitSignal(window.loadFinished, timeout=30000) as blocker:
        window.open_path(str(study))
    assert blocker.args == ["series"]
    dialog = window.series_dialog
    assert dialog.isVisible() and len(dialog.items) == 2
    counts = sorted(s.n_slices for s in dialog.series)
    assert counts == [4, 5]
    assert dialog.selected_uid() is not None  # one is preselected
    dialog.select_uid(next(s.uid for s in dialog.series if s.n_slices == 5))
    with qtbot.waitSignal(window.loadFinished, timeout=30000) as blocker:
        dialog.accept()
    assert blocker.args == ["loaded"]
    assert window.scan.volume.shape == (5, 16, 16)


def test_opening_a_folder_through_the_series_picker_parses_each_header_once(window, qtbot, tmp_path,
                                                                            monkeypatch):
    import pydicom

    import inference.io.dicom_scan as dicom_scan

    study = tmp_path / "study"
    study.mkdir()
    for src in (need(GAP_DICOM), need(CT5N_DICOM)):
        for f in src.iterdir():
            os.symlink(f, study / f"{src.name}_{f.name}")
    reads: list[str] = []
    parse = pydicom.dcmread

    def counted(path, *args, **kwargs):
        reads.append(str(path))
        return parse(path, *args, **kwargs)

    monkeypatch.setattr(dicom_scan.pydicom, "dcmread", counted)
    with qtbot.waitSignal(window.loadFinished, timeout=30000):
        window.open_path(str(study))
    dialog = window.series_dialog
    dialog.select_uid(next(s.uid for s in dialog.series if s.n_slices == 5))
    with qtbot.waitSignal(window.loadFinished, timeout=30000) as blocker:
        dialog.accept()
    assert blocker.args == ["loaded"]
    assert len(reads) == len(set(reads)) == len(list(study.iterdir()))
