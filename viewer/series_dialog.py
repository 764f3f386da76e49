"""Series picker shown when a folder holds several series."""

from __future__ import annotations

from typing import Sequence

from PySide6 import QtWidgets
from PySide6.QtCore import Qt

COLUMNS = ("#", "Description", "Modality", "Slices", "Thickness mm", "Size", "Orientation")


class SeriesDialog(QtWidgets.QDialog):
    """Lists :class:`inference.io.SeriesInfo` rows; :meth:`selected_uid` after accept."""

    def __init__(self, series: Sequence, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a series")
        self.series = list(series)
        self.table = QtWidgets.QTableWidget(len(self.series), len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, s in enumerate(self.series):
            thick = getattr(s, "thickness_mm", None)
            values = (
                getattr(s, "series_number", "") or "",
                getattr(s, "description", "") or "",
                getattr(s, "modality", "") or "",
                getattr(s, "n_slices", ""),
                f"{thick:.2f}" if isinstance(thick, (int, float)) else "",
                f"{getattr(s, 'cols', '')} x {getattr(s, 'rows', '')}",
                getattr(s, "orientation", "") or "",
            )
            for col, v in enumerate(values):
                item = QtWidgets.QTableWidgetItem(str(v))
                item.setData(Qt.ItemDataRole.UserRole, s.uid)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        if self.series:
            self.table.selectRow(0)
        self.table.doubleClicked.connect(lambda _i: self.accept())
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Open
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("This folder holds several series. Open which one?"))
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(720, 320)

    def selected_uid(self) -> str | None:
        """UID of the selected series (None when nothing is selected)."""
        rows = self.table.selectionModel().selectedRows()
        return self.series[rows[0].row()].uid if rows else None
