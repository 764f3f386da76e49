"""Marks beside the axial scroller at the slices a slice-set model was given.

A slice-set model (MedGemma-style) sees only some of the scan's slices, as images; the reader
should see which. Each sent slice gets a short magenta tick beside the scroller, at the height
the scroller's handle has when that slice is in view, so that the handle sitting on a tick
means the model saw the slice on screen. The colour is none of the TG-IS strip's (viridis) nor
the cyan of the slice in view; the tick of the slice in view is drawn longer. A caption along
the marks and each tick's tooltip say what they are (``"sent to the model (slice 2 of 4):
stored slice 33 of 64"``); clicking a tick goes to its slice.

The marks draw a :class:`~viewer.models.sent_slices.SentSlices` model and are hidden while it
is empty (a 3D model, which reads the whole volume, never fills it).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

from ..models.sent_slices import SentSlices

MARK = QtGui.QColor(255, 64, 200)  # magenta: not on the viridis strip, not the cyan "in view"
CAPTION = QtGui.QColor(230, 230, 230)
TICK, TICK_IN_VIEW = 7, 11  # tick lengths, pixels
WIDTH = 22  # the ticks, then the caption along them
HIT = 4  # how near a tick (pixels) a tooltip or a click counts as on it


class SentMarks(QtWidgets.QWidget):
    """Ticks at the slices of ``model`` beside ``scroller`` (a vertical QScrollBar whose value
    is the displayed axial slice, as the axial view's)."""

    sliceClicked = Signal(int)  # the displayed slice of the tick clicked

    def __init__(self, model: SentSlices, scroller: QtWidgets.QScrollBar,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sent_marks")
        self.setFixedWidth(WIDTH)
        self.setToolTip("Slices sent to the model as images (magenta ticks); the scroller's handle on a "
                        "tick: the model saw the slice in view")
        self.model = model
        self.scroller = scroller
        model.changed.connect(self._on_model)
        scroller.rangeChanged.connect(lambda *_: self.update())
        scroller.valueChanged.connect(lambda *_: self.update())
        self._on_model()

    def _on_model(self) -> None:
        self.setVisible(len(self.model) > 0)
        self.update()

    def caption(self) -> str:
        """The words along the marks: what they are and how many."""
        return f"sent to the model: {len(self.model)} of {self.model.n_stored} stored slices"

    def tick_y(self, displayed: int) -> float:
        """This widget's y of displayed slice ``displayed``: the centre of the scroller's handle
        when the scroller shows it (the style's own geometry, inverted appearance included)."""
        option = QtWidgets.QStyleOptionSlider()
        self.scroller.initStyleOption(option)
        option.sliderPosition = option.sliderValue = displayed
        handle = self.scroller.style().subControlRect(QtWidgets.QStyle.ComplexControl.CC_ScrollBar, option,
                                                      QtWidgets.QStyle.SubControl.SC_ScrollBarSlider, self.scroller)
        return handle.center().y() + 0.5 + self.scroller.y() - self.y()  # both sit in the view's layout

    def tick_at(self, y: float) -> int:
        """The sent slice (position in the order sent, from 0) whose tick is nearest ``y``
        within a few pixels; -1 for none."""
        best, best_gap = -1, HIT + 0.5
        for n, k in enumerate(self.model.displayed):
            gap = abs(self.tick_y(k) - y)
            if gap < best_gap:
                best, best_gap = n, gap
        return best

    # ----------------------------------------------------------------- painting
    def paintEvent(self, _ev: QtGui.QPaintEvent) -> None:  # noqa: N802
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor(0, 0, 0))
        in_view = self.scroller.value()
        for k in self.model.displayed:
            length = TICK_IN_VIEW if k == in_view else TICK
            painter.fillRect(QtCore.QRectF(1, self.tick_y(k) - 1.5, length, 3), MARK)
        small = QtGui.QFont(self.font())
        small.setPixelSize(9)
        painter.setFont(small)
        painter.setPen(CAPTION)
        shown = painter.fontMetrics().elidedText(self.caption(), Qt.TextElideMode.ElideRight, self.height() - 8)
        painter.translate(WIDTH - 1, 4)
        painter.rotate(90)  # reads top to bottom, along the scroller
        painter.drawText(QtCore.QRectF(0, 0, self.height() - 8, 9), Qt.AlignmentFlag.AlignLeft, shown)
        painter.end()

    # ----------------------------------------------------------------- interaction
    def event(self, ev: QtCore.QEvent) -> bool:  # noqa: D102 - a tooltip per tick
        if ev.type() == QtCore.QEvent.Type.ToolTip and len(self.model):
            n = self.tick_at(ev.pos().y())
            if n >= 0:
                QtWidgets.QToolTip.showText(ev.globalPos(), f"{self.model.words(n)}; click to go there", self)
                return True
        return super().event(ev)

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            n = self.tick_at(ev.position().y())
            if n >= 0:
                self.sliceClicked.emit(self.model.displayed[n])
        ev.accept()
