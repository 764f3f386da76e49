"""The list of every key and mouse binding, shown by F1 (Help menu).

The list is generated from the bindings themselves: every window action that has a shortcut,
plus :data:`~viewer.views.slice_keys.SLICE_KEYS` (which the slice views use to handle their
keys), plus the mouse.
"""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets
from PySide6.QtCore import Qt

from ..views.read_only_dialog import fill_read_only_dialog
from ..views.slice_keys import MOUSE, SLICE_KEYS


def key_text(key: Qt.Key) -> str:
    """How a key is written in the list, e.g. ``"PgUp"``."""
    return QtGui.QKeySequence(key).toString(QtGui.QKeySequence.SequenceFormat.NativeText)


def shortcut_rows(window: QtWidgets.QWidget) -> list[tuple[str, str, str]]:
    """``(keys, action, where)`` for every binding of ``window``: its actions, the slice keys, the mouse."""
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for action in window.findChildren(QtGui.QAction):
        keys = ", ".join(s.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        name = action.text().replace("&", "").replace("…", "").strip()
        if keys and (keys, name) not in seen:
            seen.add((keys, name))
            rows.append((keys, name, "Window"))
    rows.sort(key=lambda r: r[1].lower())
    rows += [(key_text(b.key), b.description, "Slice view") for b in SLICE_KEYS]
    rows += [(keys, what, "Slice view (mouse)") for keys, what in MOUSE]
    return rows


class ShortcutsDialog(QtWidgets.QDialog):
    """A table of every key and mouse binding."""

    def __init__(self, window: QtWidgets.QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcuts_dialog")
        rows = shortcut_rows(window)
        self.table = QtWidgets.QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Where"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        fill_read_only_dialog(self, self.table, (560, 620))
