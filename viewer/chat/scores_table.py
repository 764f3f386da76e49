"""The researcher view: the slice scores of every question of the session: TG-IS one row per
question, and TG-IS with occlusion relevance one row per stored slice (:mod:`.scores_slices`),
each with its CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6 import QtGui, QtWidgets

from ..models.transcript import Entry
from ..views.heat_strip import heat_color, normalised
from .scores_slices import SCAN_COLUMNS, scored_entries, slices_csv, slices_table


def scores_csv(entries: Sequence[Entry], scan_id: str = "", bundle: tuple[str, str] = ("", "")) -> str:
    """CSV text: ``question, task, answer, stopped, scan_id, bundle, bundle_version,
    stored_slice_1 .. stored_slice_n`` (scores per stored slice, counted from 1 as everywhere
    else; ``scan_id`` is :func:`inference.io.scan_identity`, ``bundle`` the model's name and
    version); entries without scores are left out."""
    rows = [e for e in entries if e.scores is not None]
    n = max((len(e.scores) for e in rows), default=0)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "task", "answer", "stopped", *SCAN_COLUMNS,
                     *(f"stored_slice_{k + 1}" for k in range(n))])
    for e in rows:
        writer.writerow([e.shown, e.task, e.text, int(e.stopped), scan_id, *bundle,
                         *(f"{float(s):.6g}" for s in e.scores)])
    return out.getvalue()



def _captioned(table: QtWidgets.QWidget, caption: str) -> QtWidgets.QWidget:
    """``table`` under a one-paragraph ``caption``: one tab of the scores dialog."""
    page = QtWidgets.QWidget()
    column = QtWidgets.QVBoxLayout(page)
    column.addWidget(QtWidgets.QLabel(caption))
    column.addWidget(table, 1)
    return page

class ScoresTable(QtWidgets.QDialog):
    """Two tabs: TG-IS, one row per question (cells coloured as the heat strip), and TG-IS with
    occlusion, one row per stored slice (coloured as their strips); a CSV export of each."""

    def __init__(self, entries: Sequence[Entry], parent: QtWidgets.QWidget | None = None, scan_id: str = "",
                 bundle: tuple[str, str] = ("", "")) -> None:
        super().__init__(parent)
        self.scan_id, self.bundle = scan_id, bundle
        self.setWindowTitle("Slice scores of this session: TG-IS and occlusion")
        self.entries = [e for e in entries if e.scores is not None]
        n = max((len(e.scores) for e in self.entries), default=0)
        self.table = QtWidgets.QTableWidget(len(self.entries), n)
        self.table.setObjectName("scores_table")
        self.table.setHorizontalHeaderLabels([str(k + 1) for k in range(n)])
        self.table.setVerticalHeaderLabels([e.shown for e in self.entries])
        for r, e in enumerate(self.entries):
            for k, (s, t) in enumerate(zip(e.scores, normalised(e.scores))):
                item = QtWidgets.QTableWidgetItem(f"{float(s):.3f}")
                item.setBackground(QtGui.QBrush(heat_color(t)))
                item.setForeground(QtGui.QBrush(QtGui.QColor("black" if t > 0.6 else "white")))
                self.table.setItem(r, k, item)
        self.table.resizeColumnsToContents()
        self.peak = self._open_at_peak()
        self.all_entries = scored_entries(entries)  # TG-IS or occlusion: the per-slice rows
        self.slices_table = slices_table(self.all_entries)
        save = QtWidgets.QPushButton("Export CSV, one row per question (TG-IS)…")
        save.clicked.connect(self._save_dialog)
        save_slices = QtWidgets.QPushButton("Export CSV, one row per stored slice (TG-IS and occlusion)…")
        save_slices.clicked.connect(self._save_slices_dialog)
        by_question = _captioned(self.table, "One row per question; columns are the scan's stored slices "
                                 "(1 = first stored slice, as the heat strip numbers them); colour normalised "
                                 "per row; opened at the latest question's peak.")
        by_slice = _captioned(self.slices_table, "One row per question and stored slice: its TG-IS score and its "
                              "occlusion relevance (how much blanking the slice lowered the answer's "
                              "log-probability, nats; negative, grey: it rose). Empty: none.")
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(by_question, "TG-IS by question")
        self.tabs.addTab(by_slice, "TG-IS and occlusion by slice")
        if not self.entries and self.all_entries:  # a model without TG-IS: its occlusion first
            self.tabs.setCurrentIndex(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(save)
        buttons.addWidget(save_slices)
        layout.addLayout(buttons)
        self.resize(900, 400)

    def _open_at_peak(self) -> tuple[int, int]:
        """Select and scroll to the latest question's highest-scored slice; returns (row, column)."""
        if not self.entries:
            return (-1, -1)
        row = len(self.entries) - 1
        col = int(np.argmax(self.entries[row].scores))
        self.table.setCurrentCell(row, col)
        self.table.scrollToItem(self.table.item(row, col), QtWidgets.QAbstractItemView.ScrollHint.PositionAtCenter)
        return (row, col)

    def save_csv(self, path: str | Path) -> None:
        """Write the scores as CSV."""
        Path(path).write_text(scores_csv(self.entries, self.scan_id, self.bundle), encoding="utf-8", newline="")

    def save_slices_csv(self, path: str | Path) -> None:
        """Write TG-IS and occlusion, one row per stored slice, as CSV (:func:`slices_csv`)."""
        Path(path).write_text(slices_csv(self.all_entries, self.scan_id, self.bundle), encoding="utf-8", newline="")

    def _save_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export scores", "tgis_scores.csv", "CSV (*.csv)")
        if path:
            self.save_csv(path)

    def _save_slices_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export scores per slice", "slice_scores.csv",
                                                        "CSV (*.csv)")
        if path:
            self.save_slices_csv(path)


def open_scores_table(entries: Sequence[Entry], parent: QtWidgets.QWidget | None = None, scan_id: str = "",
                      bundle: tuple[str, str] = ("", "")) -> ScoresTable:
    """Show the scores of ``entries`` (of scan ``scan_id``, answered by ``bundle``: name and
    version) in a table of their own (returns the dialog)."""
    dialog = ScoresTable(entries, parent, scan_id, bundle)
    dialog.show()
    return dialog
