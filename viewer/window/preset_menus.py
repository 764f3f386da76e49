"""View > Window/level presets (number keys, 0 for the scan's own window) and View > 3D presets."""

from __future__ import annotations

from typing import Callable

from PySide6 import QtGui, QtWidgets

from ..models import presets
from ..models.window_level import WindowLevel
from ..views.volume_view import VolumeView


class WindowPresetMenu(QtWidgets.QMenu):
    """A preset per number key; ``apply_window`` shows it, ``apply_default`` the scan's own window."""

    def __init__(self, apply_window: Callable[[WindowLevel], None], apply_default: Callable[[], None],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Window/level &presets", parent)
        for p in presets.window_presets():
            self.addAction(f"{p.name}  ({p.width:.0f}/{p.level:.0f})", QtGui.QKeySequence(p.key),
                           lambda p=p: apply_window(WindowLevel(p.width, p.level, p.name)))
        self.addAction("Default (file / region / auto)", QtGui.QKeySequence("0"), apply_default)


class VolumePresetMenu(QtWidgets.QMenu):
    """The 3D view's transfer functions."""

    def __init__(self, volume_view: VolumeView, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("3D &presets", parent)
        for p in presets.vr_presets():
            self.addAction(p["name"], lambda i=p["id"]: volume_view.set_preset(i))
