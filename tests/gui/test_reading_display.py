"""Corner text (slice position in LPS mm, shadow), the scale bar, the shortcut list and the theme."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import drag
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from viewer.views.slice_keys import SLICE_KEYS
from viewer.window.shortcuts_dialog import key_text

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("plane, axis, letter", [("axial", 2, "S"), ("coronal", 1, "P"), ("sagittal", 0, "L")])
def test_corner_shows_the_slice_position_from_the_affine(chest, plane, axis, letter):
    view, vol = chest.view_by_name(plane), chest.scan.volume
    for index in (0, 7, view.n_slices - 1):
        view.set_slice(index)
        k, j, i = view.position
        world = vol.index_to_world(k, j, i)
        w = int(np.argmax(np.abs(vol.affine[:3, axis])))
        assert "LPS"[w] == letter
        assert view.corner.GetText(2).splitlines()[1] == f"{letter}: {world[w]:.1f} mm"


def test_axial_positions_step_by_the_slice_spacing(chest):
    values = []
    for k in (10, 11):
        chest.axial.set_slice(k)
        values.append(float(chest.axial.corner.GetText(2).splitlines()[1].split()[1]))
    assert abs(values[1] - values[0]) == pytest.approx(chest.scan.volume.spacing_zyx[0], abs=0.1)


def test_corner_and_overlay_text_have_a_shadow(chest):
    for corner in range(4):
        assert chest.axial.corner._actors[corner].GetTextProperty().GetShadow()
    assert chest.axial.scale_bar.label.GetTextProperty().GetShadow()


def px_per_mm(view) -> float:
    """Screen pixels per mm along the view's horizontal axis, from two voxels 200 columns apart."""
    k, j, i = view.position
    a, b = view.widget_point_of((k, j, 100)), view.widget_point_of((k, j, 300))
    dpr = view.canvas.devicePixelRatioF()
    return abs(b.x() - a.x()) * dpr / (200 * view._spacing[0])


def test_scale_bar_length_follows_the_zoom(chest):
    view = chest.axial
    view.canvas.render_now()
    bar = view.scale_bar
    assert bar.bar.GetVisibility()
    assert bar.length_px == pytest.approx(bar.length_mm * px_per_mm(view), rel=0.01)
    assert bar.label.GetInput() in (f"{bar.length_mm / 10:g} cm", f"{bar.length_mm:g} mm")
    drawn = [bar._points.GetPoint(n)[0] for n in (0, 1)]
    assert drawn[1] - drawn[0] == pytest.approx(bar.length_px)
    before = bar.length_mm
    centre = QtCore.QPointF(view.canvas.width() / 2, view.canvas.height() / 2)
    drag(view.canvas, centre, centre - QtCore.QPointF(0, 160), Qt.MouseButton.RightButton)  # zoom in ~5x
    assert bar.length_mm < before
    assert bar.length_px == pytest.approx(bar.length_mm * px_per_mm(view), rel=0.01)
    assert bar.length_px <= 0.25 * view.renderer.GetSize()[0] + 1


def test_shortcut_list_contains_every_binding(chest, qtbot):
    qtbot.keyClick(chest, Qt.Key.Key_F1)
    dialogs = [w for w in chest.findChildren(QtWidgets.QDialog, "shortcuts_dialog") if w.isVisible()]
    assert dialogs
    table = dialogs[-1].table
    listed = {(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())}
    keys = {k for k, _ in listed}
    bound = [a for a in chest.findChildren(QtGui.QAction) if not a.shortcut().isEmpty()]
    assert len(bound) > 20
    for action in bound:
        assert action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText) in keys, action.text()
    for binding in SLICE_KEYS:
        assert (key_text(binding.key), binding.description) in listed
    for expected in ("M", "E", "C", "F", "F1", "Ctrl+1", "Ctrl+2", "Ctrl+3", "Home", "End", "W", "N", "R"):
        assert expected in keys
    for d in dialogs:
        d.close()


def test_help_menu_opens_the_shortcut_list(chest):
    help_menu = next(a.menu() for a in chest.menuBar().actions() if a.text().replace("&", "") == "Help")
    action = next(a for a in help_menu.actions() if a.text().startswith("&Keyboard shortcuts"))
    assert action.shortcut().toString() == "F1"


def test_dark_theme_is_applied_app_wide(chest):
    app = QtWidgets.QApplication.instance()
    assert app.style().name().lower() == "fusion"
    window_colour = app.palette().color(QtGui.QPalette.ColorRole.Window)
    text_colour = app.palette().color(QtGui.QPalette.ColorRole.WindowText)
    assert window_colour.lightness() < 60 and text_colour.lightness() > 180
    assert chest.palette().color(QtGui.QPalette.ColorRole.Window) == window_colour
