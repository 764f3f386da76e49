"""A horizontal strip of one value per stored slice, for the Compare models dialog: each
model's TG-IS scores (viridis, as the TG-IS strips), occlusion relevance (red to orange, grey
below zero, as the occlusion strip) or the slices a slice-set model was sent (magenta marks).

Unlike the strips beside the slice views it follows no slice in view: it shows one answer's
values at a glance, slice 1 on the left."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .heat_strip import heat_color
from .occlusion_strip import occlusion_color

TGIS, OCCLUSION, SENT = "tgis", "occlusion", "sent"
SENT_COLOR = QtGui.QColor(220, 60, 220)
EMPTY_COLOR = QtGui.QColor(40, 40, 40)
MEANINGS = {TGIS: "TG-IS: the slices the answer's question attended to (brighter: more)",
            OCCLUSION: "occlusion: how much blanking each slice lowered this answer's log-probability (nats; "
                       "grey: it rose)",
            SENT: "the stored slices this slice-set model was sent as images"}


class ValueStrip(QtWidgets.QWidget):
    """``values`` (one per stored slice) of the kind ``method`` (:data:`TGIS`, :data:`OCCLUSION`
    or :data:`SENT`: 1 where sent, else 0), as a row of coloured cells."""

    def __init__(self, method: str, values: Sequence[float], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = method
        self.values = np.asarray(values, dtype=np.float64)
        self.setObjectName(f"{method}_value_strip")
        self.setMinimumHeight(16)
        self.setMaximumHeight(16)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setToolTip(f"{MEANINGS[method]}; stored slice 1 on the left, {self.values.size} in all")

    def cell_colors(self) -> list[QtGui.QColor]:
        """One colour per stored slice."""
        v = self.values
        if self.method == SENT:
            return [SENT_COLOR if x > 0 else EMPTY_COLOR for x in v]
        if self.method == OCCLUSION:
            top = float(np.abs(v).max()) if v.size else 0.0
            return [occlusion_color(float(x), top) for x in v]
        top = float(v.max()) if v.size else 0.0
        return [heat_color(float(x) / top if top > 0 else 0.0) for x in v]

    def paintEvent(self, _event: QtGui.QPaintEvent) -> None:  # noqa: N802
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), EMPTY_COLOR)
        colors = self.cell_colors()
        width = self.width() / max(len(colors), 1)
        for k, color in enumerate(colors):
            painter.fillRect(QtCore.QRectF(k * width, 0, width + 0.5, self.height()), color)
        painter.end()
