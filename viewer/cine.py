"""Cine: play through the slices of one view at a set frame rate (QTimer-driven)."""

from __future__ import annotations

from PySide6 import QtCore
from PySide6.QtCore import Signal

from .slice_view import SliceView

DEFAULT_FPS = 10


class Cine(QtCore.QObject):
    """Steps a :class:`SliceView` one slice per tick; at the last slice it stops, or starts
    again from the first when :attr:`loop` is set."""

    playingChanged = Signal(bool)

    def __init__(self, parent: QtCore.QObject | None = None, fps: int = DEFAULT_FPS) -> None:
        super().__init__(parent)
        self.loop = False
        self.view: SliceView | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._tick)
        self.set_fps(fps)

    @property
    def fps(self) -> int:
        """Slices per second."""
        return round(1000 / self._timer.interval())

    def set_fps(self, fps: int) -> None:
        """Play at ``fps`` slices per second (1-60)."""
        self._timer.setInterval(round(1000 / min(60, max(1, int(fps)))))

    @property
    def playing(self) -> bool:
        """True while the cine runs."""
        return self._timer.isActive()

    def toggle(self, view: SliceView) -> None:
        """Start playing ``view`` (from its current slice), or stop when playing."""
        if self.playing:
            self.stop()
        elif view.n_slices > 1:
            self.view = view
            self._timer.start()
            self.playingChanged.emit(True)

    def stop(self) -> None:
        """Stop playing (the view stays on its slice)."""
        if self.playing:
            self._timer.stop()
            self.playingChanged.emit(False)

    def _tick(self) -> None:
        view = self.view
        if view is None or view.n_slices < 2:
            self.stop()
            return
        if view.slice_index >= view.n_slices - 1:
            if not self.loop:
                self.stop()
                return
            view.set_slice(0)
            view.sliceChanged.emit(0)
            return
        view.step(1)
