"""The window's File menu: open a scan (file, folder, recent), open a prior beside it, PACS,
screenshots, the model library and Quit. The menu only asks where; the window and its
components do the work."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence

from PySide6 import QtGui, QtWidgets

from ..models import recent
from .models_dialog import open_models_dialog

DICOM_FILTER = "CT scans (*.nii *.nii.gz *.dcm *.DCM *.ima *.IMA);;All files (*)"


def ask_scan_path(parent: QtWidgets.QWidget, title: str, folder: bool = False) -> str:
    """Ask for a scan file (``folder``: a DICOM folder); "" when the reader cancels."""
    if folder:
        return QtWidgets.QFileDialog.getExistingDirectory(parent, title)
    return QtWidgets.QFileDialog.getOpenFileName(parent, title, "", DICOM_FILTER)[0]


class FileMenuWindow(Protocol):
    """What the menu needs of the main window (a Protocol: the window imports this module)."""

    chat: Any  # the chat component, or None

    def open_path(self, path: str | Path, series_uid: str | None = None) -> object: ...

    def save_window_png(self, path: str | Path) -> None: ...

    def view_by_name(self, name: str) -> Any: ...

    def close(self) -> bool: ...


class FileMenu:
    """Fills ``menu`` for ``window`` (the recent list is filled each time the menu opens)."""

    def __init__(self, window: FileMenuWindow, menu: QtWidgets.QMenu, prior_actions: Sequence[QtGui.QAction],
                 pacs_actions: Sequence[QtGui.QAction]) -> None:
        self.window: Any = window  # also the dialogs' parent widget
        menu.addAction("&Open file…", QtGui.QKeySequence.StandardKey.Open, lambda: self._open("Open CT"))
        menu.addAction("Open &folder…", QtGui.QKeySequence("Ctrl+Shift+O"), lambda: self._open("Open DICOM folder", True))
        self.recent_menu = menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        menu.addSeparator()
        menu.addActions(list(prior_actions))
        menu.addSeparator()
        menu.addActions(list(pacs_actions))
        menu.addSeparator()
        menu.addAction("Save screenshot of &window…", QtGui.QKeySequence("Ctrl+Shift+S"), lambda: self._screenshot())
        shot_menu = menu.addMenu("Save screenshot of &view")
        for name in ("axial", "coronal", "sagittal", "3d"):
            shot_menu.addAction(name.capitalize() if name != "3d" else "3D", lambda n=name: self._screenshot(n))
        menu.addAction("&Models…", lambda: open_models_dialog(window, window.chat))
        menu.addSeparator()
        menu.addAction("&Quit", QtGui.QKeySequence.StandardKey.Quit, window.close)

    def _open(self, title: str, folder: bool = False) -> None:
        path = ask_scan_path(self.window, title, folder)
        if path:
            self.window.open_path(path)

    def fill_recent_menu(self) -> None:
        """List the recently opened scans (the newest first)."""
        self.recent_menu.clear()
        items = recent.recent_files()
        for p in items:
            self.recent_menu.addAction(p, lambda p=p: self.window.open_path(p))
        if not items:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _screenshot(self, name: str | None = None) -> None:
        """Ask where to save a screenshot of the window (``name`` None) or of one view."""
        title, file = ("Save screenshot", "ctchat.png") if name is None else (f"Save {name} view", f"{name}.png")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, file, "PNG (*.png)")
        if path:
            self.window.save_window_png(path) if name is None else self.window.view_by_name(name).save_png(path)
