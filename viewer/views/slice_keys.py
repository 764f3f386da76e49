"""The slice views' own bindings: the keys a focused slice view handles and its mouse buttons
(listed by the Help menu's shortcut list beside the window's actions)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt


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
