"""View layouts (2x2 four-up, 1x3, 1x1) and maximising a view by double-click.

The views stay children of one container and are only moved between grid cells and hidden:
re-parenting a VTK render widget re-creates its native window, which is slow and fragile.
"""

from __future__ import annotations

from typing import Sequence

from PySide6 import QtCore, QtWidgets

LAYOUT_2X2 = "2x2"
LAYOUT_1X3 = "1x3"
LAYOUT_1X1 = "1x1"
# Cells (row, column) of the views named axial, 3d, sagittal, coronal; absent = hidden.
# 2x2 is the window's original Four-Up (axial, 3D / sagittal, coronal); 1x3 is OHIF's MPR row.
LAYOUTS: dict[str, dict[str, tuple[int, int]]] = {
    LAYOUT_2X2: {"axial": (0, 0), "3d": (0, 1), "sagittal": (1, 0), "coronal": (1, 1)},
    LAYOUT_1X3: {"axial": (0, 0), "sagittal": (0, 1), "coronal": (0, 2)},
    LAYOUT_1X1: {},  # the main view alone
}
LAYOUT_NAMES = {LAYOUT_2X2: "&2 x 2 (Four-Up)", LAYOUT_1X3: "1 x &3 (axial, sagittal, coronal)",
                LAYOUT_1X1: "&1 x 1 (focused view)"}


class ViewLayouts(QtWidgets.QWidget):
    """Arranges the named views; double-clicking a view maximises it, again restores."""

    layoutChanged = QtCore.Signal(str)

    def __init__(self, views: dict[str, QtWidgets.QWidget], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("view_layouts")
        self.views = views
        self._grid = QtWidgets.QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self.layout_name = LAYOUT_2X2
        self.main_view = "axial"
        self.maximised: str | None = None
        for name, view in views.items():
            canvas = getattr(view, "canvas", view)
            canvas.installEventFilter(self)
            canvas.setProperty("layout_view", name)
        self._arrange(LAYOUTS[LAYOUT_2X2])

    def _arrange(self, cells: dict[str, tuple[int, int]]) -> None:
        for view in self.views.values():
            self._grid.removeWidget(view)
        for r in range(3):
            self._grid.setRowStretch(r, 0)
            self._grid.setColumnStretch(r, 0)
        for name, (r, c) in cells.items():
            self._grid.addWidget(self.views[name], r, c)
            self._grid.setRowStretch(r, 1)
            self._grid.setColumnStretch(c, 1)
        for name, view in self.views.items():
            view.setVisible(name in cells)

    def visible_views(self) -> list[str]:
        """Names of the views shown now."""
        return [n for n, v in self.views.items() if not v.isHidden()]

    def set_layout(self, name: str, main_view: str | None = None) -> None:
        """Show layout ``name``; 1x1 shows ``main_view`` (default: the last one chosen)."""
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}: choose one of {', '.join(LAYOUTS)}")
        self.main_view = main_view or self.main_view
        self.layout_name = name
        self.maximised = None
        self._arrange(LAYOUTS[name] or {self.main_view: (0, 0)})
        self.layoutChanged.emit(name)

    def toggle_maximised(self, name: str) -> None:
        """Show view ``name`` alone, or go back to the layout when it is the maximised one."""
        if self.maximised == name:
            self.maximised = None
            self._arrange(LAYOUTS[self.layout_name] or {self.main_view: (0, 0)})
        else:
            self.maximised = name
            self._arrange({name: (0, 0)})
        self.layoutChanged.emit(self.layout_name)

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        if ev.type() == QtCore.QEvent.Type.MouseButtonDblClick:
            name = obj.property("layout_view")
            if name in self.views:
                self.toggle_maximised(name)
                return True
        return super().eventFilter(obj, ev)


def view_name_of(widget: QtWidgets.QWidget | None, views: dict[str, QtWidgets.QWidget]) -> str | None:
    """The name of the view that holds ``widget`` (e.g. the focused one), or None."""
    by_widget = {id(v): n for n, v in views.items()}
    while widget is not None:
        if id(widget) in by_widget:
            return by_widget[id(widget)]
        widget = widget.parentWidget()
    return None


def layout_choices() -> Sequence[tuple[str, str]]:
    """``(layout, menu text)`` in menu order."""
    return [(n, LAYOUT_NAMES[n]) for n in (LAYOUT_1X1, LAYOUT_1X3, LAYOUT_2X2)]
