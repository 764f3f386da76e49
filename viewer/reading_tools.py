"""The reading basics wired into the main window: measuring tools, layouts and maximise, cine,
the Help menu's shortcut list, and the dark theme. :func:`install` is called once by the window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtGui, QtWidgets

from .cine import Cine
from .layouts import layout_choices, view_name_of
from .measure_tools import TOOL_ELLIPSE, TOOL_RULER
from .shortcuts import ShortcutsDialog
from .theme import apply_dark_theme

if TYPE_CHECKING:
    from .app import MainWindow
    from .slice_view import SliceView

CINE_FPS = (5, 10, 20, 30)


def focused_slice_view(win: "MainWindow") -> "SliceView":
    """The slice view that has the keyboard focus (the last one clicked), else the axial view."""
    slice_views = {v.plane.name: v for v in win.slice_views}
    name = view_name_of(QtWidgets.QApplication.focusWidget(), slice_views)
    return slice_views.get(name or "", win.axial)


def focused_view_name(win: "MainWindow") -> str:
    """The name (axial, coronal, sagittal, 3d) of the focused view, else ``"axial"``."""
    return view_name_of(QtWidgets.QApplication.focusWidget(), win.layouts.views) or "axial"


def menu_named(win: QtWidgets.QMainWindow, title: str) -> QtWidgets.QMenu:
    """The menu bar's menu called ``title`` (``&`` ignored), added when there is none."""
    for action in win.menuBar().actions():
        menu = action.menu()
        if menu is not None and action.text().replace("&", "") == title.replace("&", ""):
            return menu
    return win.menuBar().addMenu(title)


def show_shortcuts(win: "MainWindow") -> ShortcutsDialog:
    """Open the list of every key and mouse binding (returns the dialog)."""
    dialog = ShortcutsDialog(win)
    dialog.show()
    return dialog


def clear_measurements(win: "MainWindow") -> None:
    """Remove the rulers and ellipses of every slice view."""
    for v in win.slice_views:
        v.measure.clear()
        v.canvas.render_now()


def _add_tools(win: "MainWindow", view_menu: QtWidgets.QMenu, toolbar: QtWidgets.QToolBar) -> None:
    group = win.navigate_action.actionGroup()
    after_tools = toolbar.actions()[2] if len(toolbar.actions()) > 2 else None  # the separator
    for text, key, tool in (("&Ruler (length in mm)", "M", TOOL_RULER), ("&Ellipse ROI (HU statistics)", "E", TOOL_ELLIPSE)):
        action = QtGui.QAction(text, win, checkable=True, shortcut=QtGui.QKeySequence(key))
        group.addAction(action)
        action.triggered.connect(lambda _c=False, t=tool: win.set_tool(t))
        win.tool_actions[tool] = action
        view_menu.addAction(action)
        toolbar.insertAction(after_tools, action)
    view_menu.addAction("&Clear measurements", QtGui.QKeySequence("Delete"), lambda: clear_measurements(win))


def _add_layouts(win: "MainWindow", view_menu: QtWidgets.QMenu) -> None:
    menu = view_menu.addMenu("&Layout")
    group = QtGui.QActionGroup(win)
    win.layout_actions = {}
    for n, (name, text) in enumerate(layout_choices(), start=1):
        action = QtGui.QAction(text, win, checkable=True, shortcut=QtGui.QKeySequence(f"Ctrl+{n}"))
        action.setChecked(name == win.layouts.layout_name)
        action.triggered.connect(lambda _c=False, n=name: win.layouts.set_layout(n, focused_view_name(win)))
        group.addAction(action)
        menu.addAction(action)
        win.layout_actions[name] = action
    win.layouts.layoutChanged.connect(lambda name: win.layout_actions[name].setChecked(True))
    menu.addAction("&Maximise / restore the focused view", QtGui.QKeySequence("F"),
                   lambda: win.layouts.toggle_maximised(focused_view_name(win)))


def _add_cine(win: "MainWindow", view_menu: QtWidgets.QMenu) -> None:
    win.cine = Cine(win)
    menu = view_menu.addMenu("C&ine")
    win.cine_action = menu.addAction("&Play / stop (focused view)", QtGui.QKeySequence("C"),
                                     lambda: win.cine.toggle(focused_slice_view(win)))
    loop = menu.addAction("&Loop at the last slice")
    loop.setCheckable(True)
    loop.toggled.connect(lambda on: setattr(win.cine, "loop", on))
    menu.addSeparator()
    group = QtGui.QActionGroup(win)
    for fps in CINE_FPS:
        action = menu.addAction(f"{fps} slices per second", lambda f=fps: win.cine.set_fps(f))
        action.setCheckable(True)
        action.setChecked(fps == win.cine.fps)
        group.addAction(action)
    win.cine.playingChanged.connect(
        lambda on: win.statusBar().showMessage(f"Cine at {win.cine.fps} slices/s (C stops)" if on else "Cine stopped", 3000))


def install(win: "MainWindow") -> None:
    """Add the reading tools to ``win``'s View and Help menus and apply the dark theme."""
    apply_dark_theme(QtWidgets.QApplication.instance())
    view_menu = menu_named(win, "&View")
    toolbar = win.findChild(QtWidgets.QToolBar, "tools")
    view_menu.addSeparator()
    _add_tools(win, view_menu, toolbar)
    view_menu.addSeparator()
    _add_layouts(win, view_menu)
    _add_cine(win, view_menu)
    help_menu = menu_named(win, "&Help")
    help_menu.addAction("&Keyboard shortcuts…", QtGui.QKeySequence("F1"), lambda: show_shortcuts(win))
