"""A slice view with a display window of its own (the hanging protocol's mediastinal view
beside the lung view).

It shares everything else with the other views through the reading state (the scan, the
crosshair and slice, the tool, the slab), so scrolling or clicking in either axial view moves
both; only the window differs: the shared window does not reach it, and a window/level drag in
it changes its own window.
"""

from __future__ import annotations

from PySide6 import QtWidgets

from ..models.planes import Plane
from ..models.reading import ReadingState
from ..models.window_level import WindowLevel
from .slice_view import SliceView


class OwnWindowSliceView(SliceView):
    """A :class:`SliceView` drawn through ``own_window``, whatever the shared window is."""

    def __init__(self, plane: Plane, reading: ReadingState, window: WindowLevel,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(plane, reading, parent)
        self.own_window = window
        self.windowDragged.connect(self._drag_own_window)
        self.set_own_window(window)

    def set_own_window(self, window: WindowLevel) -> None:
        """Draw this view through ``window`` (its corner names it) when the event loop is idle."""
        self.own_window = window
        super()._on_window(window)

    def _on_window(self, _shared: WindowLevel) -> None:
        # The shared window changed: not this view's, so nothing to redraw.
        pass

    def _drag_own_window(self, dx: float, dy: float) -> None:
        # The same step as the shared window's drag (ReadingState.drag_window): 1/200 of the width.
        step = max(1.0, self.own_window.width / 200.0)
        self.set_own_window(self.own_window.dragged(dx, dy, hu_per_pixel=step))
        self.render_now()
