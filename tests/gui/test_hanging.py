"""The hanging protocol: a chest opens in lung | mediastinum side by side, a head in the brain
window, an abdomen in soft tissue; the reader's own layout is kept; ``--hanging off``."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from gui_helpers import SMALL_NIFTI, load, need, wheel
from PySide6 import QtWidgets

from inference.resources import DEMO_CT
from viewer.models.hanging import HangingState, protocol_for
from viewer.models.layout import LAYOUT_1X3, LAYOUT_2X2, LAYOUT_LUNG_MEDIASTINUM

gui = pytest.mark.gui
LUNG, MEDIASTINUM, BRAIN, SOFT_TISSUE = (1500, -600), (350, 50), (80, 40), (400, 40)


def test_protocol_by_region():
    chest = protocol_for("chest")
    assert chest.layout == LAYOUT_LUNG_MEDIASTINUM
    assert (chest.window.width, chest.window.level) == LUNG and chest.window.name == "Lung"
    assert (chest.second_window.width, chest.second_window.level) == MEDIASTINUM
    for region in ("head", "abdomen", "not the chest", ""):
        # the four-up in the scan's opening window (which already follows the region)
        assert protocol_for(region).layout == LAYOUT_2X2 and protocol_for(region).window is None


def test_state_off_or_arranged_by_the_reader_hangs_nothing():
    assert HangingState(enabled=False).protocol("chest") is None
    state = HangingState()
    assert state.protocol("chest") == protocol_for("chest")
    state.reader_arranged()
    assert state.protocol("chest") is None


@pytest.fixture
def hung(qtbot):
    """A shown main window with the hanging protocol on (as ``ctchat view`` opens it)."""
    from viewer.window.main_window import MainWindow

    win = MainWindow(hanging=True)
    win.resize(1200, 800)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()  # no window manager under Xvfb: shortcuts need an active window
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    yield win
    win.close()


def settle(win) -> None:
    QtWidgets.QApplication.processEvents()
    for v in (*win.slice_views, win.hanging.view):
        v.render_if_requested()


@gui
def test_chest_opens_in_lung_and_mediastinal_windows_side_by_side(hung, qtbot):
    load(qtbot, hung, DEMO_CT)
    second = hung.hanging.view
    assert hung.layouts.layout_name == LAYOUT_LUNG_MEDIASTINUM
    assert hung.layouts.visible_views() == ["axial", "second_axial"]
    assert hung.axial.window() == LUNG and second.window() == MEDIASTINUM
    assert hung.axial.corner.GetText(0).startswith("Lung") and second.corner.GetText(0).startswith("Mediastinum")
    qtbot.wait(20)
    a, b = hung.axial.geometry(), second.geometry()
    assert a.top() == b.top() and a.left() < b.left() and abs(a.width() - b.width()) <= 2
    # the same slice through two windows: the lung window shows the lungs, the other hides them
    lung_img, med_img = hung.axial.canvas.to_array(), second.canvas.to_array()
    assert lung_img.std() > 10 and med_img.std() > 10
    assert abs(float(lung_img.mean()) - float(med_img.mean())) > 5

    # the crosshair and slice stay linked both ways
    hung.axial.step(2)
    settle(hung)
    assert second.position == hung.axial.position == hung.reading.position
    wheel(second.canvas, -3)
    settle(hung)
    assert hung.axial.position == second.position == hung.reading.position

    # the shared window (a preset key) changes the lung view only; a drag in the second view its own
    qtbot.keyClick(hung.axial.canvas, "3")
    settle(hung)
    assert hung.axial.window() == SOFT_TISSUE and second.window() == MEDIASTINUM
    second.windowDragged.emit(40.0, 0.0)
    assert second.window()[0] > MEDIASTINUM[0] and hung.axial.window() == SOFT_TISSUE


@gui
def test_a_non_chest_opens_in_its_regions_window(hung, qtbot):
    from inference.io.volume import Volume
    from viewer.models.reading import LoadedScan
    from viewer.models.window_level import opening_window

    load(qtbot, hung, DEMO_CT)
    assert hung.layouts.layout_name == LAYOUT_LUNG_MEDIASTINUM
    load(qtbot, hung, need(SMALL_NIFTI))  # an abdomen: four-up, soft tissue, no second axial view
    assert hung.layouts.layout_name == LAYOUT_2X2 and "second_axial" not in hung.layouts.visible_views()
    assert hung.scan.window.name == "Soft tissue" and hung.axial.window() == SOFT_TISSUE

    # a synthetic volume whose header says head: the brain window, told from the header
    voxels = np.full((8, 64, 64), -1000, np.int16)
    voxels[:, 12:52, 12:52] = 30
    head = Volume(voxels=voxels, affine=np.diag([3.0, 3.0, 5.0, 1.0]), slice_positions=np.arange(8) * 5.0,
                  metadata={"body_part": "HEAD", "modality": "CT"})
    hung.show_scan(LoadedScan(head, "head.nii.gz", opening_window(head), None))
    assert hung.layouts.layout_name == LAYOUT_2X2 and hung.axial.window() == BRAIN
    assert hung.sagittal.window() == BRAIN


@gui
def test_the_readers_layout_is_kept_for_the_next_scan(hung, qtbot):
    load(qtbot, hung, DEMO_CT)
    maximise = hung.layouts.layout_state.toggle_maximised
    maximise("second_axial"), maximise("second_axial")  # maximise and restore: no choice of layout
    assert not hung.hanging.state.arranged_by_reader
    hung.layout_actions[LAYOUT_1X3].trigger()
    assert hung.hanging.state.arranged_by_reader
    load(qtbot, hung, DEMO_CT)
    assert hung.layouts.layout_name == LAYOUT_1X3 and hung.axial.window() == LUNG


@gui
def test_hanging_off_opens_the_four_up(window, qtbot):
    """MainWindow() without ``hanging=True`` (and ``ctchat view --hanging off``): no protocol."""
    load(qtbot, window, DEMO_CT)
    assert window.layouts.layout_name == LAYOUT_2X2 and "second_axial" not in window.layouts.visible_views()
    assert window.axial.window() == LUNG  # the chest's opening window, as before


def test_cli_hanging_flag():
    from viewer.cli import _view_argv, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["view", "scan.nii.gz"]).hanging == "on"
    args = parser.parse_args(["view", "scan.nii.gz", "--hanging", "off"])
    assert args.hanging == "off" and _view_argv(args, "scan.nii.gz")[-2:] == ["--hanging", "off"]
    with pytest.raises(SystemExit):
        parser.parse_args(["view", "scan.nii.gz", "--hanging", "maybe"])
