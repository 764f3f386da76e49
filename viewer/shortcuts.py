"""Keyboard shortcuts: the slice views' own keys, and the list shown by F1 (Help menu).

The list is generated from the bindings themselves: every window action that has a shortcut,
plus :data:`SLICE_KEYS` (which the slice views use to handle their keys), plus the mouse.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtGui, QtWidgets
from PySide6.QtCore import Qt

from .read_only_dialog import fill_read_only_dialog


@dataclass(frozen=True)
class SliceKey:
    """A key a focused slice view handles: a step of ``delta`` slices, or the first/last slice."""

    key: Qt.Key
    description: str
    delta: int = 0
    to_end: int = 0  # -1 = first slice, +1 = last slice


SLICE_KEYS = (
    SliceKey(Qt.Key.Key_Up, "Next slice", delta=1),
    SliceKey(Qt.Key.Key_Down, "Previous slice", delta=-1),
    SliceKey(Qt.Key.Key_PageUp, "Ten slices on", delta=10),
    SliceKey(Qt.Key.Key_PageDown, "Ten slices back", delta=-10),
    SliceKey(Qt.Key.Key_Home, "First slice", to_end=-1),
    SliceKey(Qt.Key.Key_End, "Last slice", to_end=1),
)

MOUSE = (
    ("Wheel", "Next / previous slice"),
    ("Left click / drag", "Current tool: crosshair, window/level, ruler or ellipse"),
    ("Right drag", "Zoom"),
    ("Middle drag", "Pan"),
    ("Double-click", "Maximise the view / restore the layout"),
)


def slice_key_target(key: Qt.Key, index: int, n_slices: int) -> int | None:
    """The slice a key press moves to from ``index``, or None when the key is not a slice key."""
    for binding in SLICE_KEYS:
        if binding.key == key:
            if binding.to_end:
                return 0 if binding.to_end < 0 else n_slices - 1
            return index + binding.delta
    return None


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
