"""Series picker shown when a folder holds several CT series: grouped by study, each with
its status; localizers, captures and series that cannot load are listed but not selectable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from PySide6 import QtWidgets
from PySide6.QtCore import Qt

if TYPE_CHECKING:
    from inference.io import SeriesInfo

COLUMNS = ("#", "Description", "Kind", "Modality", "Slices", "Thickness mm", "Size", "Orientation", "Status")


def _row_values(s: SeriesInfo) -> tuple:
    thick = s.thickness_mm
    return (
        "" if s.series_number is None else s.series_number,
        s.description or "(no description)",
        s.kind,
        s.modality or "",
        s.n_slices,
        f"{thick:.2f}" if isinstance(thick, (int, float)) else "",
        f"{s.cols} x {s.rows}",
        s.orientation or "",
        s.status or "ready",
    )


class SeriesDialog(QtWidgets.QDialog):
    """Lists :class:`inference.io.SeriesInfo` rows under their study; :meth:`selected_uid`
    after accept. The largest axial CT volume is preselected."""

    def __init__(self, series: Sequence[SeriesInfo], parent: QtWidgets.QWidget | None = None) -> None:
        from inference.io.loader import default_series

        super().__init__(parent)
        self.setWindowTitle("Choose a series")
        self.series = list(series)
        self.tree = QtWidgets.QTreeWidget(self)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setRootIsDecorated(True)
        self.items: dict[str, QtWidgets.QTreeWidgetItem] = {}
        studies: dict[str, QtWidgets.QTreeWidgetItem] = {}
        for s in self.series:
            key = s.study_uid or s.study_description
            if key not in studies:
                studies[key] = QtWidgets.QTreeWidgetItem(self.tree, [f"Study: {s.study_description or '(no description)'}"])
                studies[key].setFirstColumnSpanned(True)
                studies[key].setFlags(Qt.ItemFlag.ItemIsEnabled)
            item = QtWidgets.QTreeWidgetItem(studies[key], [str(v) for v in _row_values(s)])
            item.setData(0, Qt.ItemDataRole.UserRole, s.uid)
            if not s.loadable:
                item.setFlags(Qt.ItemFlag.NoItemFlags)  # listed, greyed, not selectable
                item.setToolTip(len(COLUMNS) - 1, s.status)
            self.items[s.uid] = item
        self.tree.expandAll()
        for col in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(col)
        first = default_series(self.series)
        if first is not None:
            self.select_uid(first.uid)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self.accept() if self._uid_of(item) else None)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Open
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("This folder holds several series. Open which one?"))
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(900, 360)

    def select_uid(self, uid: str) -> None:
        """Select the row of one series (ignored for a series that cannot be opened)."""
        item = self.items.get(uid)
        if item is not None and item.flags() & Qt.ItemFlag.ItemIsSelectable:
            self.tree.setCurrentItem(item)

    def selected_uid(self) -> str | None:
        """UID of the selected series (None when nothing is selected)."""
        chosen = self.tree.selectedItems()
        return self._uid_of(chosen[0]) if chosen else None

    @staticmethod
    def _uid_of(item: QtWidgets.QTreeWidgetItem) -> str | None:
        return item.data(0, Qt.ItemDataRole.UserRole)
