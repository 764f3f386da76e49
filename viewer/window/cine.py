"""Cine: play through the slices of one view at a set frame rate (QTimer-driven), and the
View > Cine menu."""

from __future__ import annotations

from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal

from ..views.slice_view import SliceView

DEFAULT_FPS = 10
CINE_FPS = (5, 10, 20, 30)  # the menu's choices


class Cine(QtCore.QObject):
    """Steps a :class:`SliceView` one slice per tick (the linked views follow); at the last slice
    it stops, or starts again from the first when :attr:`loop` is set."""

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

    def set_loop(self, loop: bool) -> None:
        """Start again from the first slice at the last one (else stop there)."""
        self.loop = loop

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
            return
        view.step(1)


class CineMenu(QtWidgets.QMenu):
    """View > Cine: play / stop the focused slice view (C), loop, and the frame rate; the status
    bar says when it plays and stops."""

    def __init__(self, cine: Cine, focused_slice_view: Callable[[], SliceView], status_bar: QtWidgets.QStatusBar,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("C&ine", parent)
        self.addAction("&Play / stop (focused view)", QtGui.QKeySequence("C"), lambda: cine.toggle(focused_slice_view()))
        loop = self.addAction("&Loop at the last slice")
        loop.setCheckable(True)
        loop.toggled.connect(cine.set_loop)
        self.addSeparator()
        group = QtGui.QActionGroup(self)
        for fps in CINE_FPS:
            action = self.addAction(f"{fps} slices per second", lambda f=fps: cine.set_fps(f))
            action.setCheckable(True)
            action.setChecked(fps == cine.fps)
            group.addAction(action)
        cine.playingChanged.connect(
            lambda on: status_bar.showMessage(f"Cine at {cine.fps} slices/s (C stops)" if on else "Cine stopped", 3000))
