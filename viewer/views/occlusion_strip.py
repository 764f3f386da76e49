"""The occlusion strip: how much blanking each slice changes the selected answer, beside the
axial scroller (next to the TG-IS strip where a model has both).

A slice's value is the fall, in nats, of the answer's log-probability when the slice's image
tokens are zeroed (:mod:`inference.chat.relevance`). It is a strip of its own kind, not a
TG-IS strip: titled "occlusion", in red to orange (none of viridis' blues, greens and yellow,
nor the sent slices' magenta or the cyan of the slice in view), and it says what it is along
the band and in its tooltip.

Negative values (the answer got more likely without the slice) are drawn, not clamped: in
grey, so that they never read as support. Both signs share one scale, the largest absolute
value on the strip: the brightest orange and the lightest grey are that size. The legend says
so: grey, then red to orange, "nats".
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui
from PySide6.QtCore import Qt

from ..models.slice_scores import SliceScores
from .heat_strip import BAND, FOOTER, OUTLINE, WIDTH, HeatStrip
from .slice_view import SliceView

MEANING = "occlusion: how much blanking these slices (their image tokens set to zero) changes this answer"
# dark red, firebrick, orange, light orange: a positive value's colour, 0 to the largest
WARM = np.array([[96, 22, 28], [178, 34, 34], [236, 104, 36], [255, 190, 110]], dtype=np.float64)
GREY_LOW, GREY_HIGH = 85, 200  # a negative value's grey, near 0 and at the largest size
TOOLTIP = (f"{MEANING}: the fall of the answer's log-probability, in nats, when the slice's image tokens "
           "are zeroed. Red to orange: the answer got less likely without the slice (brighter: more). "
           "Negative values are shown in grey, not clamped: the answer got more likely without the "
           "slice (lighter: more). Both share one scale, the largest absolute value on the strip. "
           "Numbers are stored slices (click: go to the slice).")


def occlusion_color(value: float, top: float) -> QtGui.QColor:
    """The colour of ``value`` (nats) on a strip whose largest absolute value is ``top``."""
    t = float(np.clip(abs(value) / top, 0.0, 1.0)) if top > 0 else 0.0
    if value < 0:
        g = round(GREY_LOW + (GREY_HIGH - GREY_LOW) * t)
        return QtGui.QColor(g, g, g)
    t *= len(WARM) - 1
    k = min(int(t), len(WARM) - 2)
    r, g, b = WARM[k] + (WARM[k + 1] - WARM[k]) * (t - k)
    return QtGui.QColor(round(r), round(g), round(b))


class OcclusionStrip(HeatStrip):
    """A strip of occlusion values per displayed axial slice, drawn from ``model`` (see the
    module docstring); clicking a cell asks for that (displayed) slice, as the TG-IS strip."""

    TITLE = "occlusion"
    PEAK_FILL = QtGui.QColor(255, 190, 110)

    def __init__(self, model: SliceScores, inverted: bool = True) -> None:
        super().__init__(model, inverted=inverted)
        self.setObjectName("occlusion_strip")
        self.setToolTip(TOOLTIP)

    def top(self) -> float:
        """The largest absolute value drawn (the scale's end, both signs)."""
        return float(np.abs(self.scores).max()) if self.scores.size else 0.0

    def cell_colors(self) -> list[QtGui.QColor]:
        """Red to orange for positive values, grey for negative ones (module docstring)."""
        top = self.top()
        return [occlusion_color(v, top) for v in self.scores]

    def caption(self) -> str:
        """What the strip is, then the question (or why there are no values)."""
        if not self.scores.size:
            return self.question or "no question selected"
        return f"{MEANING} · {self.question}"  # the legend says nats; the tooltip, stored slice numbers

    def cell_words(self, k: int) -> str:
        """Displayed slice ``k``'s tooltip: its value and which way it moved the answer."""
        value = float(self.scores[k])
        way = "less" if value > 0 else "more" if value < 0 else "neither more nor less"
        return (f"{self.question}\n{self.model.slice_words(k)}: occlusion {value:+.3f} nats (without it the "
                f"answer got {way} likely); click to go there")

    def _paint_legend(self, painter: QtGui.QPainter) -> None:
        top = self.height() - FOOTER + 4
        grey, warm = BAND, BAND * 2  # the negative part, then the positive one
        for x in range(grey):
            painter.fillRect(QtCore.QRectF(x, top, 1, 7), occlusion_color(-(grey - x) / grey, 1.0))
        for x in range(warm):
            painter.fillRect(QtCore.QRectF(grey + x, top, 1, 7), occlusion_color(x / (warm - 1), 1.0))
        painter.setPen(OUTLINE)
        painter.drawRect(QtCore.QRectF(0, top, grey + warm - 1, 7))
        painter.drawText(QtCore.QRectF(grey + warm + 2, top - 3, WIDTH - grey - warm - 2, 12),
                         Qt.AlignmentFlag.AlignLeft, "nats")
        painter.drawText(QtCore.QRectF(0, top + 8, grey, 12), Qt.AlignmentFlag.AlignLeft, "<0")
        painter.drawText(QtCore.QRectF(grey, top + 8, warm, 12), Qt.AlignmentFlag.AlignRight,
                         f"{self.top():.2g}" if self.scores.size else "max")


def occlusion_strip_beside(view: SliceView, model: SliceScores, inverted: bool) -> OcclusionStrip:
    """An occlusion strip of ``model`` beside the axial ``view``'s scroller, spanning its height
    and marking the slice in view."""
    strip = OcclusionStrip(model, inverted=inverted)
    view.add_beside_scroller(strip)
    return strip
