"""Both kinds of slice scores, one row per stored slice: TG-IS and occlusion relevance side by
side, for every question that has either (a slice-set model has occlusion only; a stopped
answer, or one asked with the relevance off, TG-IS only).

The per-question TG-IS table and its CSV (:mod:`.scores_table`) stay as they were; this is the
long form a researcher joins on (question, stored slice).
"""

from __future__ import annotations

import csv
import io
from typing import Sequence

import numpy as np
from PySide6 import QtGui, QtWidgets

from ..models.transcript import Entry
from ..views.heat_strip import heat_color, luminance, normalised
from ..views.occlusion_strip import occlusion_color

SCAN_COLUMNS = ("scan_id", "bundle", "bundle_version")  # what the scores are of, and from which model
SLICE_COLUMNS = ("question_number", "question", "task", "answer", "stopped", *SCAN_COLUMNS,
                 "stored_slice", "tgis", "occlusion_nats")


def scored_entries(entries: Sequence[Entry]) -> list[Entry]:
    """The entries with TG-IS scores or occlusion relevance."""
    return [e for e in entries if e.scores is not None or e.occlusion is not None]


def _n_slices(entry: Entry) -> int:
    return max(len(v) for v in (entry.scores, entry.occlusion) if v is not None)


def _value(values: np.ndarray | None, k: int) -> str:
    return "" if values is None or k >= len(values) else f"{float(values[k]):.6g}"


def slices_csv(entries: Sequence[Entry], scan_id: str = "", bundle: tuple[str, str] = ("", "")) -> str:
    """CSV text, one row per (question, stored slice): :data:`SLICE_COLUMNS`. ``stored_slice``
    counts from 1, as everywhere else; ``tgis`` is the question's TG-IS score of the slice,
    ``occlusion_nats`` how much blanking the slice lowered the answer's log-probability (nats,
    negative: it rose); either is empty where the question has none."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SLICE_COLUMNS)
    for e in scored_entries(entries):
        head = [e.qid, e.shown, e.task, e.text, int(e.stopped), scan_id, *bundle]
        for k in range(_n_slices(e)):
            writer.writerow([*head, k + 1, _value(e.scores, k), _value(e.occlusion, k)])
    return out.getvalue()


def slices_table(entries: Sequence[Entry]) -> QtWidgets.QTableWidget:
    """The rows of :func:`slices_csv` as a table: question, stored slice, TG-IS, occlusion; each
    value coloured as its strip draws it (per question: over its highest, its largest size)."""
    rows = [(e, k) for e in scored_entries(entries) for k in range(_n_slices(e))]
    table = QtWidgets.QTableWidget(len(rows), 4)
    table.setObjectName("slices_table")
    table.setHorizontalHeaderLabels(["question", "stored slice", "TG-IS", "occlusion (nats)"])
    table.verticalHeader().hide()
    scales: dict[int, tuple[np.ndarray | None, float]] = {}
    for e in scored_entries(entries):
        top = float(np.abs(e.occlusion).max()) if e.occlusion is not None and e.occlusion.size else 0.0
        scales[e.qid] = (None if e.scores is None else normalised(e.scores), top)
    for r, (e, k) in enumerate(rows):
        table.setItem(r, 0, QtWidgets.QTableWidgetItem(f"Q{e.qid}: {e.shown}"))
        table.setItem(r, 1, QtWidgets.QTableWidgetItem(str(k + 1)))
        share, top = scales[e.qid]
        if e.scores is not None and k < len(e.scores):
            table.setItem(r, 2, _cell(f"{float(e.scores[k]):.4f}", heat_color(share[k])))
        if e.occlusion is not None and k < len(e.occlusion):
            table.setItem(r, 3, _cell(f"{float(e.occlusion[k]):+.4f}", occlusion_color(e.occlusion[k], top)))
    table.resizeColumnsToContents()
    return table


def _cell(text: str, color: QtGui.QColor) -> QtWidgets.QTableWidgetItem:
    item = QtWidgets.QTableWidgetItem(text)
    item.setBackground(QtGui.QBrush(color))
    item.setForeground(QtGui.QBrush(QtGui.QColor("black" if luminance(color) > 150 else "white")))
    return item
