"""Ruler and ellipse ROI on the real A0001 chest (64 x 512 x 512, 0.84 x 0.84 x 5 mm voxels):
the ends are placed with the mouse at known voxels, the results checked against the affine and
against numpy on the same voxels."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import drag, mouse
from PySide6 import QtCore
from PySide6.QtCore import Qt

from viewer.models.reading import Tool

pytestmark = pytest.mark.gui
TOOL_RULER, TOOL_ELLIPSE = Tool.RULER, Tool.ELLIPSE
PRESS, MOVE, RELEASE = (QtCore.QEvent.Type.MouseButtonPress, QtCore.QEvent.Type.MouseMove,
                        QtCore.QEvent.Type.MouseButtonRelease)


@pytest.fixture
def measuring(chest):
    """The chest window with no measurement drawn."""
    for v in chest.slice_views:
        v.measure.clear()
    yield chest
    for v in chest.slice_views:
        v.measure.clear()
    chest.set_tool("navigate")


def physical_mm(vol, a_kji, b_kji) -> float:
    """Distance between two voxel centres through the scan's own affine."""
    return float(np.linalg.norm(vol.index_to_world(*b_kji) - vol.index_to_world(*a_kji)))


def test_ruler_drag_on_axial_measures_within_one_percent(measuring):
    win, vol = measuring, measuring.scan.volume
    win.set_tool(TOOL_RULER)
    assert win.tool_actions[TOOL_RULER].isChecked()
    k = win.axial.slice_index
    a, b = (k, 100, 90), (k, 380, 430)
    before = win.axial.canvas.to_array()
    drag(win.axial.canvas, win.axial.widget_point_of(a), win.axial.widget_point_of(b), Qt.MouseButton.LeftButton)
    (m,) = win.axial.measure.items
    expected = physical_mm(vol, a, b)
    assert expected > 250  # a long line across the chest
    assert m.length_mm == pytest.approx(expected, rel=0.01)
    assert m.text == f"{m.length_mm:.1f} mm" and m.actors[1].GetInput() == m.text
    assert np.abs(win.axial.canvas.to_array().astype(int) - before.astype(int)).sum() > 0  # drawn
    assert win.position[0] == k  # measuring does not move the crosshair


@pytest.mark.parametrize("plane, a, b", [("sagittal", (5, 120, 256), (55, 400, 256)),
                                         ("coronal", (60, 256, 80), (3, 256, 300))])
def test_two_click_ruler_in_anisotropic_views(measuring, plane, a, b):
    """Sagittal and coronal mix 0.84 mm rows with 5 mm slices: the length follows both."""
    win, vol = measuring, measuring.scan.volume
    view = win.view_by_name(plane)
    win.set_tool(TOOL_RULER)
    pa, pb = view.widget_point_of(a), view.widget_point_of(b)
    mouse(view.canvas, PRESS, pa)
    mouse(view.canvas, RELEASE, pa)  # a click: the ruler stays open
    assert view.measure.pending and not view.measure.items
    mouse(view.canvas, MOVE, pb, Qt.MouseButton.NoButton)
    mouse(view.canvas, PRESS, pb)
    mouse(view.canvas, RELEASE, pb)
    (m,) = view.measure.items
    dk, dj, di = (np.subtract(b, a) * np.array(vol.spacing_zyx))
    assert m.length_mm == pytest.approx(physical_mm(vol, a, b), rel=0.01)
    assert m.length_mm == pytest.approx(np.sqrt(dk ** 2 + dj ** 2 + di ** 2), rel=0.01)
    assert not view.measure.pending


def test_ellipse_roi_stats_equal_numpy_on_the_same_voxels(measuring):
    win, vol = measuring, measuring.scan.volume
    win.set_tool(TOOL_ELLIPSE)
    k = win.axial.slice_index
    a, b = (k, 200, 120), (k, 300, 260)  # across the right lung and chest wall
    before = win.axial.canvas.to_array()
    drag(win.axial.canvas, win.axial.widget_point_of(a), win.axial.widget_point_of(b), Qt.MouseButton.LeftButton)
    (m,) = win.axial.measure.items
    s = m.stats
    # The same ellipse on the same slice, computed here voxel by voxel.
    cj, ci, rj, ri = 250.0, 190.0, 50.0, 70.0
    jj, ii = np.mgrid[0:512, 0:512]
    inside = ((jj - cj) / rj) ** 2 + ((ii - ci) / ri) ** 2 <= 1.0
    values = vol.voxels[k][inside].astype(float)
    assert abs(s.n_voxels - values.size) <= 0.01 * values.size  # the corners land on the voxels
    assert s.mean == pytest.approx(values.mean(), abs=0.02 * values.std())
    assert s.sd == pytest.approx(values.std(), rel=0.02)
    assert s.minimum == pytest.approx(values.min(), abs=50) and s.maximum == pytest.approx(values.max(), abs=50)
    dj, di = vol.spacing_zyx[1], vol.spacing_zyx[2]
    assert s.area_mm2 == pytest.approx(np.pi * rj * dj * ri * di, rel=0.01)
    assert "HU" in m.text and "mm²" in m.text
    # The outline is drawn: pixels on the ellipse's top edge turned the tool's cyan.
    changed = np.abs(win.axial.canvas.to_array().astype(int) - before.astype(int)).sum(axis=-1) > 60
    top = win.axial.widget_point_of((k, 200, 190))
    dpr = win.axial.canvas.devicePixelRatioF()
    x, y = round(top.x() * dpr), round(top.y() * dpr)
    assert changed[y - 3:y + 4, x - 3:x + 4].any()


def test_ellipse_exact_against_numpy_with_its_own_geometry(measuring):
    """Whatever the corners landed on, the stats are numpy's on the voxels inside the drawn ellipse."""
    win, vol = measuring, measuring.scan.volume
    win.set_tool(TOOL_ELLIPSE)
    k = win.axial.slice_index
    drag(win.axial.canvas, win.axial.widget_point_of((k, 230, 300)), win.axial.widget_point_of((k, 270, 360)),
         Qt.MouseButton.LeftButton)
    (m,) = win.axial.measure.items
    spacing = win.axial._spacing
    (i0, j0), (i1, j1) = m.p0[:2] / spacing[:2], m.p1[:2] / spacing[:2]
    jj, ii = np.mgrid[0:512, 0:512]
    inside = ((jj - (j0 + j1) / 2) / (abs(j1 - j0) / 2)) ** 2 + ((ii - (i0 + i1) / 2) / (abs(i1 - i0) / 2)) ** 2 <= 1
    values = vol.voxels[k][inside].astype(float)
    assert m.stats.n_voxels == values.size
    assert m.stats.mean == pytest.approx(values.mean())
    assert m.stats.sd == pytest.approx(values.std())
    assert (m.stats.minimum, m.stats.maximum) == (values.min(), values.max())


def test_measurements_show_on_their_slice_only_and_clear(measuring, qtbot):
    win = measuring
    win.set_tool(TOOL_RULER)
    k = win.axial.slice_index
    drag(win.axial.canvas, win.axial.widget_point_of((k, 100, 100)), win.axial.widget_point_of((k, 200, 200)),
         Qt.MouseButton.LeftButton)
    (m,) = win.axial.measure.items
    win.axial.step(1)
    assert not any(a.GetVisibility() for a in m.actors)
    win.axial.step(-1)
    assert all(a.GetVisibility() for a in m.actors)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    qtbot.keyClick(win, Qt.Key.Key_Delete)
    assert win.axial.measure.items == []


def test_choosing_another_tool_drops_an_unfinished_ruler(measuring):
    win = measuring
    win.set_tool(TOOL_RULER)
    k = win.axial.slice_index
    p = win.axial.widget_point_of((k, 150, 150))
    mouse(win.axial.canvas, PRESS, p)
    mouse(win.axial.canvas, RELEASE, p)
    assert win.axial.measure.pending
    win.set_tool("navigate")
    mouse(win.axial.canvas, MOVE, win.axial.widget_point_of((k, 250, 250)), Qt.MouseButton.NoButton)
    assert not win.axial.measure.pending and win.axial.measure.items == []
    assert win.axial.renderer.GetViewProps().GetNumberOfItems() == win.coronal.renderer.GetViewProps().GetNumberOfItems()
