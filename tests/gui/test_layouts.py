"""Layouts (1x1, 1x3, 2x2) and maximising a view by double-click."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from viewer.models.layout import LAYOUT_1X1, LAYOUT_1X3, LAYOUT_2X2

pytestmark = pytest.mark.gui
ALL = ["axial", "3d", "sagittal", "coronal"]


def double_click(widget: QtWidgets.QWidget) -> None:
    pos = QtCore.QPointF(widget.width() / 2, widget.height() / 2)
    ev = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseButtonDblClick, pos, widget.mapToGlobal(pos),
                           Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, ev)


def test_default_is_the_four_up(window):
    lay = window.layouts
    assert lay.layout_name == LAYOUT_2X2 and lay.visible_views() == ALL
    assert window.layout_actions[LAYOUT_2X2].isChecked()
    ax, vr = window.axial.geometry(), window.volume_view.geometry()
    sag, cor = window.sagittal.geometry(), window.coronal.geometry()
    assert ax.top() == vr.top() < sag.top() == cor.top()  # axial | 3D over sagittal | coronal
    assert ax.left() == sag.left() < vr.left() == cor.left()


def test_1x3_puts_the_slice_views_in_a_row(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # View > Layout > 1 x 3
    lay = window.layouts
    assert lay.layout_name == LAYOUT_1X3
    assert lay.visible_views() == ["axial", "sagittal", "coronal"] and window.volume_view.isHidden()
    qtbot.wait(20)
    geos = [window.axial.geometry(), window.sagittal.geometry(), window.coronal.geometry()]
    assert len({g.top() for g in geos}) == 1 and geos[0].left() < geos[1].left() < geos[2].left()
    assert abs(geos[0].width() - geos[2].width()) <= 2
    window.layouts.set_layout(LAYOUT_2X2)
    assert lay.visible_views() == ALL


def test_1x1_shows_the_focused_view(window, qtbot):
    window.coronal.canvas.setFocus()
    window.layout_actions[LAYOUT_1X1].trigger()
    assert window.layouts.visible_views() == ["coronal"]
    qtbot.wait(20)
    assert window.coronal.width() > 0.9 * window.layouts.width()
    window.layouts.set_layout(LAYOUT_2X2)


def test_double_click_maximises_and_restores(window, qtbot):
    window.layouts.set_layout(LAYOUT_1X3)
    double_click(window.sagittal.canvas)
    assert window.layouts.visible_views() == ["sagittal"] and window.layouts.maximised == "sagittal"
    qtbot.wait(20)
    assert window.sagittal.width() > 0.9 * window.layouts.width()
    double_click(window.sagittal.canvas)
    assert window.layouts.visible_views() == ["axial", "sagittal", "coronal"]
    assert window.layouts.layout_name == LAYOUT_1X3 and window.layouts.maximised is None
    window.layouts.set_layout(LAYOUT_2X2)
    double_click(window.volume_view.canvas)
    assert window.layouts.visible_views() == ["3d"]
    double_click(window.volume_view.canvas)
    assert window.layouts.visible_views() == ALL


def test_maximised_view_still_draws_the_scan(chest, qtbot):
    double_click(chest.axial.canvas)
    try:
        qtbot.wait(50)
        chest.axial.canvas.render_now()
        assert chest.axial.canvas.to_array().std() > 10
        assert chest.coronal.isHidden()
    finally:
        double_click(chest.axial.canvas)
    assert chest.layouts.visible_views() == ALL


def test_unknown_layout_is_one_sentence(window):
    with pytest.raises(ValueError, match="unknown layout"):
        window.layouts.set_layout("3x3")
