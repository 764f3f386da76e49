"""The TG-IS heat strip: the selected question's score per axial slice, beside a view's scroller.

Beside the axial view the strip runs along its scroller, one cell per displayed slice (slice 1
at the bottom, as the scroller). Beside the sagittal and coronal views, where each axial slice
is a row of the image, the cells follow the image: each sits at its slice's row on screen (a
band along the image's vertical axis, redrawn as the view zooms and pans).

Readable at a glance: the colour scale is the upper three quarters of viridis (perceptually
even, brighter is higher), whose lowest colour is a dark blue that stays visible on the black
views; an outline; slice ticks; the peak slice labelled; a legend; the question named along
the strip. Scores come per displayed slice (:func:`viewer.models.slice_scores.scores_on_grid`
maps a resampled scan's original slices onto its grid); each cell is coloured by its score
divided by the highest score. Clicking a cell asks for that (displayed) slice.

The numbers on the strip (its ticks and the peak's marker) count from 1 on the stored slices,
as the transcript and the CSVs do, and the strip says so: on a resampled scan the tick of stored
slice s sits at the displayed slice that shows it, and a cell's tooltip names both numbers.

The strips draw one :class:`~viewer.models.slice_scores.SliceScores` model together. What a
strip is of (its title, colours, legend and words) is the class's: the occlusion strip
(:mod:`.occlusion_strip`) is a strip of another kind.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

from ..models.slice_scores import SliceScores
from .slice_view import SliceView

EMPTY = QtGui.QColor(40, 40, 40)
OUTLINE = QtGui.QColor(170, 170, 170)
PEAK = QtGui.QColor(255, 255, 255)
CURRENT = QtGui.QColor(80, 200, 255)
# viridis at 0.25, 0.5, 0.75 and 1 (matplotlib's table): its dark purple low end is left out
SCALE = np.array([[59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64)
BAND = 14  # colour band width, pixels
WIDTH = 66  # the band, its ticks and labels, the question's name along the strip
HEADER, FOOTER = 14, 30  # the title above the band; the legend below it


def heat_color(t: float) -> QtGui.QColor:
    """The strip's colour for ``t`` in [0, 1] (0: lowest score, dark blue; 1: the peak, yellow)."""
    t = float(min(1.0, max(0.0, t))) * (len(SCALE) - 1)
    k = min(int(t), len(SCALE) - 2)
    r, g, b = SCALE[k] + (SCALE[k + 1] - SCALE[k]) * (t - k)
    return QtGui.QColor(round(r), round(g), round(b))


def luminance(color: QtGui.QColor) -> float:
    """Perceived brightness (Rec. 601 luma) of a colour, 0-255."""
    return 0.299 * color.red() + 0.587 * color.green() + 0.114 * color.blue()


def normalised(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Scores divided by their maximum (zeros when all are zero)."""
    s = np.asarray(scores, dtype=np.float64)
    top = float(s.max()) if s.size else 0.0
    return s / top if top > 0 else np.zeros_like(s)


def tick_step(n: int, length_px: float, min_gap_px: float = 28.0) -> int:
    """A 1-2-5 step between slice ticks that keeps their labels ``min_gap_px`` apart."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if step * length_px / max(1, n) >= min_gap_px:
            return step
    return max(1, n)


def strip_image(scores: Sequence[float] | np.ndarray, width: int = 640, height: int = 24) -> QtGui.QImage:
    """The strip laid out horizontally, slice 1 at the left, outlined (for reports)."""
    norm = normalised(scores)
    img = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    img.fill(EMPTY)
    painter = QtGui.QPainter(img)
    n = len(norm)
    for k, t in enumerate(norm):
        x0, x1 = round(k * width / n), round((k + 1) * width / n)
        painter.fillRect(QtCore.QRect(x0, 0, max(1, x1 - x0), height), heat_color(t))
    painter.setPen(QtGui.QPen(OUTLINE, 1))
    painter.drawRect(0, 0, width - 1, height - 1)
    painter.end()
    return img


class HeatStrip(QtWidgets.QWidget):
    """A vertical strip of per-axial-slice scores, drawn from ``model``.

    Args:
        inverted: slice 0 at the bottom (as the axial scroller, superior at the top).
        row_of: for a sagittal or coronal view, the strip's y of axial slice ``k`` on screen
            (the cells then follow the image); None: the slices share the strip's height.
            It must be affine in ``k`` (a parallel projection is): it is asked twice a paint.
        marks_current: draw a line at the axial slice in view (the axial view's strip).
    """

    sliceClicked = Signal(int)
    TITLE = "TG-IS"  # above the band
    PEAK_FILL = QtGui.QColor(253, 231, 37)  # the peak marker's background: the scale's top colour

    def __init__(self, model: SliceScores, inverted: bool = True, row_of: Callable[[int], float] | None = None,
                 marks_current: bool = True, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("heat_strip")
        self.setFixedWidth(WIDTH)
        self.setToolTip("TG-IS slice attention of the selected question; numbers are stored slices "
                        "(click: go to the slice)")
        self.model = model
        self.inverted = inverted
        self.row_of = row_of
        self.marks_current = marks_current
        self._rows: tuple[float, float] | None = None  # (row of slice 0, rows per slice) while painting
        model.changed.connect(self.update)

    @property
    def scores(self) -> np.ndarray:
        """The scores drawn, one per displayed axial slice (empty: none)."""
        return self.model.scores

    @property
    def question(self) -> str:
        """The question the scores belong to ("" for none)."""
        return self.model.question

    @property
    def current(self) -> int:
        """The axial slice in view (-1: none)."""
        return self.model.current

    def set_current(self, index: int) -> None:
        """Mark axial slice ``index`` as the one in view (on every strip of the model)."""
        self.model.set_current(index)

    def peak_slice(self) -> int:
        """The displayed slice marked as the peak: the one that shows the highest-scored stored
        slice, drawn brightest (-1 without scores)."""
        return self.model.peak_displayed()

    def peak_label(self) -> str:
        """The peak's marker: the highest-scored stored slice, counted from 1 (``"◀23"``)."""
        return f"◀{self.model.peak_stored() + 1}"

    def _row_map(self) -> tuple[float, float]:
        """``(row of slice 0, rows per slice)``: slice index to strip row is affine, so two rows
        fix it (a view's ``row_of`` maps through VTK's camera, ~0.1 ms a call: per cell it cost
        60 ms a paint on a 64-slice scan)."""
        if self.row_of is not None:
            r0 = self.row_of(0)
            return r0, self.row_of(1) - r0
        n = max(1, self.scores.size)
        h = (self.height() - HEADER - FOOTER) / n
        return (HEADER + (n - 0.5) * h, -h) if self.inverted else (HEADER + 0.5 * h, h)

    def _centre(self, index: float) -> float:
        r0, step = self._rows if self._rows is not None else self._row_map()
        return r0 + index * step

    def cell_rect(self, index: int) -> QtCore.QRectF:
        """Where slice ``index`` is drawn (widget coordinates)."""
        a, b = self._centre(index - 0.5), self._centre(index + 0.5)
        return QtCore.QRectF(0, min(a, b), BAND, abs(b - a))

    def band_rect(self) -> QtCore.QRectF:
        """The part of the strip the slices occupy (clipped to the strip)."""
        if not self.scores.size:
            return QtCore.QRectF(0, HEADER, BAND, max(0, self.height() - HEADER - FOOTER))
        a, b = self._centre(-0.5), self._centre(self.scores.size - 0.5)
        top, bottom = max(HEADER, min(a, b)), min(self.height() - FOOTER, max(a, b))
        return QtCore.QRectF(0, top, BAND, max(0.0, bottom - top))

    def slice_at(self, y: float) -> int:
        """The slice under widget height ``y`` (-1 without scores or outside the band)."""
        n = self.scores.size
        if n == 0 or not self.band_rect().top() <= y <= self.band_rect().bottom():
            return -1
        a, b = self._centre(0), self._centre(n - 1)
        k = int(round((y - a) / (b - a) * (n - 1))) if n > 1 and b != a else 0
        return int(np.clip(k, 0, n - 1))

    # ----------------------------------------------------------------- painting
    def paintEvent(self, _ev: QtGui.QPaintEvent) -> None:  # noqa: N802
        self._rows = self._row_map()
        try:
            self._paint()
        finally:
            self._rows = None

    def _paint(self) -> None:
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor(0, 0, 0))
        small = QtGui.QFont(self.font())
        small.setPixelSize(9)
        painter.setFont(small)
        painter.setPen(OUTLINE)
        painter.drawText(QtCore.QRectF(0, 0, WIDTH, HEADER), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         self.TITLE)
        band = self.band_rect()
        painter.fillRect(band, EMPTY)
        if self.scores.size:
            painter.save()
            painter.setClipRect(band)
            for k, color in enumerate(self.cell_colors()):
                painter.fillRect(self.cell_rect(k), color)
            painter.restore()
            self._paint_ticks(painter, band)
            self._paint_peak(painter, band)
        painter.setPen(QtGui.QPen(OUTLINE, 1))
        painter.drawRect(band.adjusted(0, 0, -1, 0))
        if self.marks_current and 0 <= self.current < self.scores.size:
            y = self._centre(self.current)
            if band.top() <= y <= band.bottom():
                painter.setPen(QtGui.QPen(CURRENT, 2))
                painter.drawLine(QtCore.QPointF(0, y), QtCore.QPointF(BAND + 4, y))
        self._paint_legend(painter)
        self._paint_question(painter, band)
        painter.end()

    def cell_colors(self) -> list[QtGui.QColor]:
        """One colour per displayed slice: its score over the highest, on the viridis scale."""
        return [heat_color(t) for t in normalised(self.scores)]

    def _paint_ticks(self, painter: QtGui.QPainter, band: QtCore.QRectF) -> None:
        n, at = self.model.stored.size, self.model.stored_at
        step = tick_step(n, abs(self._centre(self.scores.size - 1) - self._centre(0)) or 1.0)
        painter.setPen(OUTLINE)
        for number in sorted({1, *range(step, n + 1, step)}):  # stored slices from 1, as the table and the report
            y = self._centre(at[number - 1])
            if band.top() <= y <= band.bottom():
                painter.drawLine(QtCore.QPointF(BAND, y), QtCore.QPointF(BAND + 3, y))
                painter.drawText(QtCore.QRectF(BAND + 4, y - 6, 24, 12), Qt.AlignmentFlag.AlignLeft
                                 | Qt.AlignmentFlag.AlignVCenter, str(number))

    def _paint_peak(self, painter: QtGui.QPainter, band: QtCore.QRectF) -> None:
        k = self.peak_slice()
        y = self._centre(k)
        if not band.top() <= y <= band.bottom():
            return
        label = QtCore.QRectF(BAND + 2, y - 7, 30, 14)
        painter.fillRect(label, self.PEAK_FILL)
        painter.setPen(QtGui.QColor(0, 0, 0))
        bold = QtGui.QFont(painter.font())
        bold.setBold(True)
        painter.save()
        painter.setFont(bold)
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, self.peak_label())
        painter.restore()
        painter.setPen(QtGui.QPen(PEAK, 1))
        painter.drawRect(self.cell_rect(k).intersected(band).adjusted(0, 0, -1, 0))

    def _paint_legend(self, painter: QtGui.QPainter) -> None:
        top = self.height() - FOOTER + 4
        for x in range(BAND * 3):
            painter.fillRect(QtCore.QRectF(x, top, 1, 7), heat_color(x / (BAND * 3 - 1)))
        painter.setPen(OUTLINE)
        painter.drawRect(QtCore.QRectF(0, top, BAND * 3 - 1, 7))
        painter.drawText(QtCore.QRectF(0, top + 8, WIDTH, 12), Qt.AlignmentFlag.AlignLeft, "low")
        painter.drawText(QtCore.QRectF(0, top + 8, BAND * 3, 12), Qt.AlignmentFlag.AlignRight, "peak")

    def caption(self) -> str:
        """The words along the strip: the question the scores are of ("" for none)."""
        if not self.scores.size:
            return self.question or "no question selected"
        # the grid the ticks and the marker count on
        return f"stored slice numbers · {self.question}" if self.question else ""

    def _paint_question(self, painter: QtGui.QPainter, band: QtCore.QRectF) -> None:
        text = self.caption()
        if not text:
            return
        length = max(0.0, self.height() - HEADER - FOOTER)
        shown = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(length))
        painter.save()
        painter.translate(WIDTH - 3, HEADER)
        painter.rotate(90)  # reads top to bottom, along the strip
        painter.setPen(QtGui.QColor(230, 230, 230))
        painter.drawText(QtCore.QRectF(0, 0, length, 12), Qt.AlignmentFlag.AlignLeft, shown)
        painter.restore()

    # ----------------------------------------------------------------- interaction
    def event(self, ev: QtCore.QEvent) -> bool:  # noqa: D102 - per-cell tooltip
        if ev.type() == QtCore.QEvent.Type.ToolTip and self.scores.size:
            k = self.slice_at(ev.pos().y())
            if k >= 0:
                QtWidgets.QToolTip.showText(ev.globalPos(), self.cell_words(k), self)
                return True
        return super().event(ev)

    def cell_words(self, k: int) -> str:
        """Displayed slice ``k``'s tooltip: the question, the slice, its score."""
        share = self.scores[k] / self.scores.max() if self.scores.max() > 0 else 0.0
        return (f"{self.question}\n{self.model.slice_words(k)}: score {self.scores[k]:.4f} ({share:.0%} of the "
                "highest); click to go there")

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            k = self.slice_at(ev.position().y())
            if k >= 0:
                self.sliceClicked.emit(k)
        ev.accept()


class FollowView(QtCore.QObject):
    """Repaints a strip whose cells follow a view's image when the view's camera may have moved
    (wheel, drag, resize, keys), without the view having to tell."""

    EVENTS = (QtCore.QEvent.Type.Wheel, QtCore.QEvent.Type.MouseMove, QtCore.QEvent.Type.MouseButtonRelease,
              QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.Show)

    def __init__(self, strip: HeatStrip, canvas: QtWidgets.QWidget) -> None:
        super().__init__(strip)
        self.strip = strip
        canvas.installEventFilter(self)

    def eventFilter(self, _obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        if ev.type() in self.EVENTS:
            QtCore.QTimer.singleShot(0, self.strip.update)
        return False


def strip_beside(view: SliceView, model: SliceScores, inverted: bool) -> HeatStrip:
    """A heat strip of ``model`` beside ``view``'s scroller: the axial view's spans its height and
    marks the slice in view; a sagittal or coronal view's cells follow the rows of its image
    (axial slice k at row k)."""
    if view.plane.name == "axial":
        strip = HeatStrip(model, inverted=inverted)
    else:
        def row_of(k: float) -> float:
            _, j, i = view.position
            return view.canvas.mapTo(view, view.widget_point_of((k, j, i))).y() - strip.y()

        strip = HeatStrip(model, inverted=inverted, row_of=row_of, marks_current=False)
        strip.setObjectName(f"heat_strip_{view.plane.name}")
        FollowView(strip, view.canvas)
    view.add_beside_scroller(strip)
    return strip
