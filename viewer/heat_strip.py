"""The TG-IS heat strip: one cell per displayed axial slice beside the axial slice scroller.

Scores come per original slice (``Answer.original_scores``; the main window maps them onto the
regular grid of a resampled scan); each cell is coloured by its score divided by the highest
score. Clicking a cell asks for that slice.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

EMPTY = QtGui.QColor(40, 40, 40)


def heat_color(t: float) -> QtGui.QColor:
    """A black-red-yellow-white colour for ``t`` in [0, 1] (like the "hot" map)."""
    t = float(min(1.0, max(0.0, t)))
    r = min(1.0, 3.0 * t)
    g = min(1.0, max(0.0, 3.0 * t - 1.0))
    b = min(1.0, max(0.0, 3.0 * t - 2.0))
    return QtGui.QColor.fromRgbF(r, g, b)


def normalised(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Scores divided by their maximum (zeros when all are zero)."""
    s = np.asarray(scores, dtype=np.float64)
    top = float(s.max()) if s.size else 0.0
    return s / top if top > 0 else np.zeros_like(s)


def strip_image(scores: Sequence[float] | np.ndarray, width: int = 640, height: int = 24) -> QtGui.QImage:
    """The strip laid out horizontally, slice 0 at the left (for reports)."""
    norm = normalised(scores)
    img = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    img.fill(EMPTY)
    painter = QtGui.QPainter(img)
    n = len(norm)
    for k, t in enumerate(norm):
        x0, x1 = round(k * width / n), round((k + 1) * width / n)
        painter.fillRect(QtCore.QRect(x0, 0, max(1, x1 - x0), height), heat_color(t))
    painter.end()
    return img


class HeatStrip(QtWidgets.QWidget):
    """A narrow vertical strip of per-slice scores; slice 0 at the bottom when ``inverted``
    (as the axial scroller, superior at the top)."""

    sliceClicked = Signal(int)

    def __init__(self, inverted: bool = True, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("heat_strip")
        self.setFixedWidth(12)
        self.setToolTip("TG-IS slice attention of the selected question (click: go to the slice)")
        self.inverted = inverted
        self.scores: np.ndarray = np.zeros(0)
        self.current = -1  # the slice shown, marked with a line

    def set_scores(self, scores: Sequence[float] | np.ndarray | None) -> None:
        """Show ``scores`` (one per displayed axial slice), or clear the strip with None."""
        self.scores = np.zeros(0) if scores is None else np.asarray(scores, dtype=np.float64)
        self.update()

    def set_current(self, index: int) -> None:
        """Mark the slice the axial view shows."""
        if index != self.current:
            self.current = index
            self.update()

    def peak_slice(self) -> int:
        """The original slice drawn brightest (-1 without scores)."""
        return int(np.argmax(self.scores)) if self.scores.size else -1

    def cell_rect(self, index: int) -> QtCore.QRectF:
        """Where slice ``index`` is drawn (widget coordinates)."""
        n = max(1, self.scores.size)
        h = self.height() / n
        row = n - 1 - index if self.inverted else index
        return QtCore.QRectF(0, row * h, self.width(), h)

    def slice_at(self, y: float) -> int:
        """The slice under widget height ``y`` (-1 without scores)."""
        n = self.scores.size
        if n == 0:
            return -1
        row = int(np.clip(y * n / max(1, self.height()), 0, n - 1))
        return n - 1 - row if self.inverted else row

    def paintEvent(self, _ev: QtGui.QPaintEvent) -> None:  # noqa: N802
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), EMPTY)
        for k, t in enumerate(normalised(self.scores)):
            painter.fillRect(self.cell_rect(k), heat_color(t))
        if 0 <= self.current < self.scores.size:
            r = self.cell_rect(self.current)
            painter.setPen(QtGui.QPen(QtGui.QColor(80, 200, 255), 2))
            painter.drawLine(QtCore.QPointF(0, r.center().y()), QtCore.QPointF(self.width(), r.center().y()))
        painter.end()

    def event(self, ev: QtCore.QEvent) -> bool:  # noqa: D102 - per-cell tooltip
        if ev.type() == QtCore.QEvent.Type.ToolTip and self.scores.size:
            k = self.slice_at(ev.pos().y())
            share = self.scores[k] / self.scores.max() if self.scores.max() > 0 else 0.0
            QtWidgets.QToolTip.showText(ev.globalPos(), f"slice {k + 1}: score {self.scores[k]:.4f} "
                                        f"({share:.0%} of the highest); click to go there", self)
            return True
        return super().event(ev)

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            k = self.slice_at(ev.position().y())
            if k >= 0:
                self.sliceClicked.emit(k)
        ev.accept()
