"""A prior beside the current scan: two series of the A0001 chest in one frame of reference (the
5 mm series and a 10 mm series cut from it, cropped in-plane) scroll together by patient
position, in one window and zoom; the reader re-links them at other anatomy; Swap moves the chat
to the prior and each scan keeps its own transcript; ``ctchat view --prior``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from chat_helpers import ask, wait_for
from gui_helpers import A0001_DICOM, load, mouse, need
from PySide6 import QtCore
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from prior_series import header_z, write_prior_series

from viewer.models.layout import LAYOUT_PRIOR
from viewer.models.prior_link import FRAME, READER
from viewer.models.window_level import WindowLevel
from viewer.window.prior_compare import NO_PRIOR

pytestmark = pytest.mark.gui
CROP = (100, 120, 300, 280)


@pytest.fixture(scope="module")
def prior_folder(tmp_path_factory):
    return write_prior_series(need(A0001_DICOM), tmp_path_factory.mktemp("prior") / "a0001_10mm", crop=CROP)


def open_prior(win, folder) -> None:
    win.prior.open(str(folder))
    assert wait_for(win.prior.loadFinished) == ["loaded"], win.message_bar.label.text()


def prior_z(win) -> float:
    return float(win.prior.scan.volume.index_to_world(*win.prior.view.position)[2])


def current_z(win) -> float:
    return float(win.scan.volume.index_to_world(*win.axial.position)[2])


def test_the_prior_scrolls_zooms_and_windows_with_the_current_scan(window, qtbot, prior_folder, tmp_path):
    load(qtbot, window, need(A0001_DICOM))
    layout_before = window.layouts.layout_name
    open_prior(window, prior_folder)
    assert window.layouts.layout_name == LAYOUT_PRIOR
    assert window.layouts.visible_views() == ["axial", "prior_axial"]
    assert window.prior.link.alignment.how == FRAME
    assert "PRIOR" in window.prior.view.corner.GetText(3) and "frame of reference" in window.prior.view.corner.GetText(3)
    z_files = header_z(prior_folder)
    for k in (12, 20, 33, 47):  # the wheel or scroller in the current view: the prior follows
        window.axial.set_slice(k)
        qtbot.waitUntil(lambda: abs(prior_z(window) - current_z(window)) <= 5.0 + 1e-6, timeout=3000)
        assert np.min(np.abs(z_files - prior_z(window))) < 1e-3  # a prior slice by its own header
        assert window.prior.view.position[1:] == (window.position[1] - CROP[0], window.position[2] - CROP[1])
    window.prior.view.step(-1)  # scrolling the prior moves the current scan to the same place
    qtbot.waitUntil(lambda: abs(current_z(window) - prior_z(window)) < 1e-3, timeout=3000)

    window.set_window(WindowLevel(400, 40, "Soft tissue"))  # one window for both
    assert window.prior.view.window() == (400, 40)
    window.axial.camera.zoom(-40)  # zoom and pan in the current view: the prior shows the same place
    window.axial.camera.pan(np.array([15.0, -10.0, 0.0]))
    window.render_all()
    cam, prior_cam = (v.renderer.GetActiveCamera() for v in (window.axial, window.prior.view))
    assert prior_cam.GetParallelScale() == pytest.approx(cam.GetParallelScale())
    focal_kji = (np.array(cam.GetFocalPoint()) / window.axial.spacing)[::-1]
    prior_focal_kji = (np.array(prior_cam.GetFocalPoint()) / window.prior.view.spacing)[::-1]
    assert np.allclose(prior_focal_kji[1:], focal_kji[1:] - CROP[:2], atol=1e-6)

    # Unlink, scroll the prior 2 slices (20 mm) up, link again: the reader's offset.
    QTest.keyClick(window, Qt.Key.Key_L)  # L: scroll each on its own (View > Prior > Scroll together)
    assert window.prior.link.linked is False
    before = prior_z(window)
    window.prior.view.step(2)
    assert prior_z(window) - before == pytest.approx(20.0) and window.prior.link.linked is False
    QTest.keyClick(window, Qt.Key.Key_L)  # L again: linked where they are now
    link = window.prior.link
    assert link.alignment.how == READER and link.alignment.offset_mm[2] == pytest.approx(20.0 + before - current_z(window))
    assert "linked by you" in window.prior.view.corner.GetText(3)
    window.axial.step(-2)
    qtbot.waitUntil(lambda: prior_z(window) - current_z(window) == pytest.approx(link.alignment.offset_mm[2], abs=5.0))
    window.prior_actions.realign_action.trigger()
    assert window.prior.link.alignment.how == FRAME

    kji = window.prior.view.position  # the mouse over the prior: the status bar reads the prior's voxel
    mouse(window.prior.view.canvas, QtCore.QEvent.Type.MouseMove, window.prior.view.widget_point_of(kji),
          Qt.MouseButton.NoButton)
    hu = float(window.prior.scan.volume.voxels[kji])
    assert window.cursor_label.text().startswith(f"Prior: HU {hu:.0f} ")

    report = window.export_report(tmp_path / "report.html").read_text()  # the report says what it was read beside
    assert "read beside" in report and "a prior: prior (280 x 300 x 24 voxels)" in report

    window.prior_actions.close_action.trigger()
    assert window.prior.scan is None and window.layouts.layout_name == layout_before
    assert window.prior.view.message.GetInput() == NO_PRIOR
    assert "read beside" not in window.export_report(tmp_path / "alone.html").read_text()


def test_swap_moves_the_chat_and_each_scan_keeps_its_transcript(chat_win, prior_folder):
    win, panel = chat_win, chat_win.chat_panel
    current_key = win.scan.path
    open_prior(win, prior_folder)
    ask(win, "Is there a nodule in the lungs?")
    asked_on_current = [e.shown for e in panel.entries]
    win.prior_actions.swap_action.trigger()
    assert win.scan.path == str(prior_folder) and win.prior.scan.path == current_key
    if panel.state != "ready":
        wait_for(panel.stateChanged, 90000, until=lambda s: s in ("ready", "scan_failed"))
    assert panel.state == "ready", panel.status.text()
    assert panel.entries == []  # the prior's own transcript (none yet)
    ask(win, "Where is the mass?")
    win.prior_actions.swap_action.trigger()
    if panel.state != "ready":
        wait_for(panel.stateChanged, 90000, until=lambda s: s in ("ready", "scan_failed"))
    assert [e.shown for e in panel.entries] == asked_on_current  # the current scan's questions are back
    assert win.prior.link.alignment.how == FRAME
    win.prior.close_prior()


def test_ctchat_view_prior_with_offset(tmp_path, prior_folder):
    out = tmp_path / "prior.png"
    run = subprocess.run([sys.executable, "-m", "inference.cli", "view", str(need(A0001_DICOM)), "--prior",
                          str(prior_folder), "--prior-offset", "20", "--screenshot", str(out), "--size", "1000x600"],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    assert "prior: linked by you (prior 20.0 mm superior)" in run.stdout
    assert out.stat().st_size > 10_000
    bad = subprocess.run([sys.executable, "-m", "inference.cli", "view", "--prior-offset", "up",
                          "--screenshot", str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--prior-offset" in bad.stderr and "Traceback" not in bad.stderr


def test_a_ruler_on_the_prior_stays_with_the_prior(window, qtbot, prior_folder, tmp_path):
    from gui_helpers import drag

    from inference.io import scan_identity
    from viewer.models.reading import Tool

    load(qtbot, window, need(A0001_DICOM))
    open_prior(window, prior_folder)
    view, k = window.prior.view, window.prior.view.slice_index
    window.set_tool(Tool.RULER)
    assert window.prior.reading.tool == Tool.RULER  # the prior measures as the current views do
    drag(view.canvas, view.widget_point_of((k, 60, 50)), view.widget_point_of((k, 160, 200)), Qt.MouseButton.LeftButton)
    window.set_tool(Tool.NAVIGATE)
    (record,) = view.measure.records()
    spacing = np.linalg.norm(window.prior.scan.volume.affine[:3, :2], axis=0)
    assert record.length_mm == pytest.approx(np.hypot(150 * spacing[0], 100 * spacing[1]), rel=0.01)
    key = scan_identity(window.prior.scan.volume)
    assert window.measurements.store.for_scan(key) == [record]  # kept with the prior, on disk
    assert window.measurements.records == []  # not with the current scan

    window.prior.close_prior()
    open_prior(window, prior_folder)  # the prior again: its ruler is back
    assert window.prior.view.measure.records() == [record]
    window.prior_actions.swap_action.trigger()  # the prior in the main views: its ruler there
    assert [r.length_mm for r in window.measurements.records] == [record.length_mm]
    assert window.prior.view.measure.records() == []  # the current scan, now beside it, has none
    window.prior_actions.swap_action.trigger()
    report = window.export_report(tmp_path / "report.html").read_text()  # the prior's ruler is reported as the prior's
    assert "Measurements on the prior" in report and f"{record.length_mm:.1f} mm" in report
    window.tools.clear_action.trigger()  # Delete clears the prior's too
    assert window.prior.view.measure.records() == [] and window.measurements.store.for_scan(key) == []
    window.prior.close_prior()


def test_a_prior_that_cannot_be_read_is_one_sentence_and_the_scan_stays(window, qtbot, tmp_path):
    load(qtbot, window, need(A0001_DICOM))
    bad = tmp_path / "prior.nii.gz"
    bad.write_bytes(b"not a NIfTI file at all")
    window.prior.open(str(bad))
    assert wait_for(window.prior.loadFinished) == ["failed"]
    text = window.message_bar.text()
    assert "Could not open the prior" in text and "Traceback" not in text
    assert window.prior.scan is None and window.prior.link is None
    assert window.scan.path == str(need(A0001_DICOM)) and window.layouts.layout_name != LAYOUT_PRIOR
