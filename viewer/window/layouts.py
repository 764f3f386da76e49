"""The view layouts (2x2 four-up, 1x3, 1x1) on screen, maximising a view by double-click, and
the View > Layout menu.

The views stay children of one container and are only moved between grid cells and hidden:
re-parenting a VTK render widget re-creates its native window, which is slow and fragile.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ..models.layout import ViewLayout, layout_choices


class ViewLayouts(QtWidgets.QWidget):
    """Arranges the named views as ``layout`` says; double-clicking a view maximises it, again
    restores."""

    def __init__(self, views: dict[str, QtWidgets.QWidget], layout: ViewLayout,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("view_layouts")
        self.views = views
        self.layout_state = layout
        self._grid = QtWidgets.QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        for name, view in views.items():
            view.setParent(self)  # also the views the first layout hides: none is a window of its own
            canvas = getattr(view, "canvas", view)
            canvas.installEventFilter(self)
            canvas.setProperty("layout_view", name)
        self._arrange()
        layout.changed.connect(lambda _name: self._arrange())

    @property
    def layout_name(self) -> str:
        """The layout chosen (``2x2``, ``1x3`` or ``1x1``)."""
        return self.layout_state.layout_name

    def set_layout(self, name: str, main_view: str | None = None) -> None:
        """Show layout ``name``; 1x1 shows ``main_view`` (default: the last one chosen)."""
        self.layout_state.set_layout(name, main_view)

    @property
    def maximised(self) -> str | None:
        """The view maximised over the layout, if any."""
        return self.layout_state.maximised

    def _arrange(self) -> None:
        cells = self.layout_state.cells()
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

    def focused_view(self) -> str:
        """The name of the view that has the keyboard focus (the last one clicked), else ``"axial"``."""
        widget = QtWidgets.QApplication.focusWidget()
        by_widget = {id(v): n for n, v in self.views.items()}
        while widget is not None:
            if id(widget) in by_widget:
                return by_widget[id(widget)]
            widget = widget.parentWidget()
        return "axial"

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        if ev.type() == QtCore.QEvent.Type.MouseButtonDblClick:
            name = obj.property("layout_view")
            if name in self.views:
                self.layout_state.toggle_maximised(name)
                return True
        return super().eventFilter(obj, ev)


class LayoutMenu(QtWidgets.QMenu):
    """View > Layout: a checkable action per layout (Ctrl+1, 2, 3; 1x1 shows the focused view),
    and maximise / restore the focused view (F)."""

    def __init__(self, layouts: ViewLayouts, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("&Layout", parent)
        state = layouts.layout_state
        group = QtGui.QActionGroup(self)
        self.layout_actions: dict[str, QtGui.QAction] = {}
        for n, (name, text) in enumerate(layout_choices(), start=1):
            action = QtGui.QAction(text, self, checkable=True, shortcut=QtGui.QKeySequence(f"Ctrl+{n}"))
            action.setChecked(name == state.layout_name)
            action.triggered.connect(lambda _c=False, n=name: state.set_layout(n, layouts.focused_view()))
            group.addAction(action)
            self.addAction(action)
            self.layout_actions[name] = action
        state.changed.connect(lambda name: self.layout_actions[name].setChecked(True))
        self.addAction("&Maximise / restore the focused view", QtGui.QKeySequence("F"),
                       lambda: state.toggle_maximised(layouts.focused_view()))
