"""What the left mouse button does in the slice views, as actions: the crosshair, the
window/level drag and the measuring tools (one at a time), and clearing the measurements."""

from __future__ import annotations

from typing import Sequence

from PySide6 import QtGui, QtWidgets

from ..models.reading import MEASURE_TOOLS, ReadingState, Tool
from ..views.slice_view import SliceView

TOOLS = ((Tool.NAVIGATE, "&Navigate (crosshair)", "N"), (Tool.WINDOW_LEVEL, "&Window/level tool", "W"),
         (Tool.RULER, "&Ruler (length in mm)", "M"), (Tool.ELLIPSE, "&Ellipse ROI (HU statistics)", "E"))


class ToolActions:
    """A checkable action per tool, checked as the reading state's tool changes, and Clear
    measurements (Delete). The window puts them in its View menu and tool bar."""

    def __init__(self, reading: ReadingState, slice_views: Sequence[SliceView], window: QtWidgets.QWidget) -> None:
        self._slice_views = slice_views
        group = QtGui.QActionGroup(window)
        self.by_tool: dict[Tool, QtGui.QAction] = {}
        for tool, text, key in TOOLS:
            action = QtGui.QAction(text, window, checkable=True, shortcut=QtGui.QKeySequence(key))
            action.setChecked(tool == reading.tool)
            action.triggered.connect(lambda _checked=False, t=tool: reading.set_tool(t))
            group.addAction(action)
            self.by_tool[tool] = action
        reading.tool_changed.connect(lambda tool: self.by_tool[tool].setChecked(True))
        self.clear_action = QtGui.QAction("&Clear measurements", window, shortcut=QtGui.QKeySequence("Delete"))
        self.clear_action.triggered.connect(self.clear_measurements)

    @property
    def pointing(self) -> list[QtGui.QAction]:
        """The crosshair and window/level tools' actions."""
        return [a for t, a in self.by_tool.items() if t not in MEASURE_TOOLS]

    @property
    def measuring(self) -> list[QtGui.QAction]:
        """The measuring tools' actions."""
        return [self.by_tool[t] for t in MEASURE_TOOLS]

    def clear_measurements(self) -> None:
        """Remove the rulers and ellipses of every slice view."""
        for v in self._slice_views:
            v.measure.clear()
            v.render_now()
