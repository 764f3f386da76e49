"""Loading, slice stepping, crosshair linking and the cursor read-out on the real A0001 chest."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import drag, mouse, wheel
from PySide6 import QtCore
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def test_load_shows_scan_in_all_views(chest):
    vol = chest.scan.volume
    assert vol.shape == (64, 512, 512)
    assert chest.axial.slice_index == 32 and chest.axial.scroller.maximum() == 63
    assert chest.coronal.slice_index == 256 and chest.coronal.scroller.maximum() == 511
    assert chest.sagittal.slice_index == 256 and chest.sagittal.scroller.maximum() == 511
    assert chest.position == chest.coronal.position == chest.sagittal.position == (32, 256, 256)
    assert not chest.progress.isVisible() and not chest.cancel_button.isVisible()
    for v in chest.slice_views:
        assert v.canvas.to_array().std() > 10  # an image is drawn, not a blank view


def test_wheel_steps_one_slice_and_leaves_3d_alone(chest, qtbot):
    before = chest.axial.canvas.to_array()
    vr_renders = chest.volume_view.canvas.render_count
    coronal_renders = chest.coronal.canvas.render_count
    k = chest.axial.slice_index
    wheel(chest.axial.canvas, +1)
    # The linked views redraw their moved crosshair once the event loop runs.
    qtbot.waitUntil(lambda: chest.coronal.canvas.render_count > coronal_renders, timeout=2000)
    assert chest.axial.slice_index == k + 1
    assert chest.axial.scroller.value() == k + 1
    after = chest.axial.canvas.to_array()
    assert np.abs(after.astype(int) - before.astype(int)).sum() > 0  # displayed pixels changed
    # Linked: the other views' crosshair follows the new axial position.
    assert chest.coronal.position[0] == chest.sagittal.position[0] == k + 1
    wheel(chest.axial.canvas, -1)
    wheel(chest.axial.canvas, -1)
    assert chest.axial.slice_index == k - 1
    qtbot.wait(50)
    assert chest.volume_view.canvas.render_count == vr_renders  # the 3D view never re-rendered


def test_wheel_stops_at_the_ends(chest):
    chest.axial.set_slice(63)
    wheel(chest.axial.canvas, +1)
    assert chest.axial.slice_index == 63
    chest.axial.set_slice(0)
    wheel(chest.axial.canvas, -1)
    assert chest.axial.slice_index == 0


def test_scroller_moves_slice_and_links(chest):
    chest.coronal.scroller.setValue(100)
    assert chest.coronal.slice_index == 100
    assert chest.axial.position[1] == 100 and chest.sagittal.position[1] == 100


def test_click_in_axial_moves_coronal_and_sagittal(chest):
    k = chest.axial.slice_index
    target = (k, 140, 370)
    p = chest.axial.widget_point_of(target)
    mouse(chest.axial.canvas, QtCore.QEvent.Type.MouseButtonPress, p)
    mouse(chest.axial.canvas, QtCore.QEvent.Type.MouseButtonRelease, p)
    assert chest.coronal.slice_index == 140
    assert chest.sagittal.slice_index == 370
    assert chest.axial.slice_index == k  # clicking does not change the axial slice
    assert chest.position == target


def test_click_in_sagittal_moves_axial(chest):
    i = chest.sagittal.slice_index
    p = chest.sagittal.widget_point_of((10, 200, i))
    mouse(chest.sagittal.canvas, QtCore.QEvent.Type.MouseButtonPress, p)
    assert chest.axial.slice_index == 10
    assert chest.coronal.slice_index == 200


def test_status_bar_shows_hu_and_position_under_cursor(chest):
    vol = chest.scan.volume
    k, j, i = chest.axial.slice_index, 300, 200
    mouse(chest.axial.canvas, QtCore.QEvent.Type.MouseMove, chest.axial.widget_point_of((k, j, i)),
          Qt.MouseButton.NoButton)
    text = chest.cursor_label.text()
    assert f"HU {int(vol.voxels[k, j, i])}" in text
    x, y, z = vol.index_to_world(k, j, i)
    assert f"{z:.1f}" in text and f"i {i}, j {j}, k {k}" in text


def test_right_drag_zooms_and_middle_drag_pans(chest):
    cam = chest.axial.renderer.GetActiveCamera()
    scale = cam.GetParallelScale()
    c = QtCore.QPointF(200, 200)
    drag(chest.axial.canvas, c, QtCore.QPointF(200, 140), Qt.MouseButton.RightButton)
    assert cam.GetParallelScale() < scale * 0.8  # dragged up = zoom in
    focal = np.array(cam.GetFocalPoint())
    drag(chest.axial.canvas, c, QtCore.QPointF(260, 200), Qt.MouseButton.MiddleButton)
    moved = np.array(cam.GetFocalPoint()) - focal
    assert moved[0] < -5 and abs(moved[1]) < 1  # image follows the mouse to the right
    assert chest.axial.slice_index == 32  # navigation did not change the slice


def test_arrow_and_page_keys_step_slices(chest, qtbot):
    k = chest.axial.slice_index
    qtbot.keyClick(chest.axial.canvas, Qt.Key.Key_Up)
    assert chest.axial.slice_index == k + 1
    qtbot.keyClick(chest.axial.canvas, Qt.Key.Key_PageDown)
    assert chest.axial.slice_index == k - 9
    assert chest.coronal.position[0] == k - 9
