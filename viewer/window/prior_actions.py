"""The prior's actions: File > Open prior (file or folder) and Close prior, and View > Prior:
scroll together, align again, an offset in mm, swap current and prior."""

from __future__ import annotations

from typing import Callable

from PySide6 import QtGui, QtWidgets

from ..models.prior_link import parse_offset
from .file_menu import ask_scan_path
from .prior_compare import PriorCompare


class PriorActions:
    """The actions on ``prior`` (enabled while a prior is shown, except the two that open one)."""

    def __init__(self, prior: PriorCompare, parent: QtWidgets.QWidget) -> None:
        self.prior = prior
        self.parent = parent
        self.open_file_action = self._action("Open &prior file…", lambda: self._open("Open prior CT"))
        self.open_folder_action = self._action("Open prior fol&der…", lambda: self._open("Open prior DICOM folder", True))
        self.close_action = self._action("Close pr&ior", prior.close_prior)
        self.linked_action = QtGui.QAction("&Scroll together", parent, checkable=True, checked=True,
                                           shortcut=QtGui.QKeySequence("L"))
        self.linked_action.setToolTip("Off: scroll each scan to the same anatomy, then on again to link them there")
        self.linked_action.toggled.connect(prior.set_linked)
        self.realign_action = self._action("&Align as opened (frame of reference, else anatomy, else centres)",
                                           prior.align_initially)
        self.offset_action = self._action("Set &offset in mm…", self._ask_offset)
        self.swap_action = self._action("S&wap current and prior", prior.swap)
        self.swap_action.setShortcut(QtGui.QKeySequence("X"))
        self.menu = QtWidgets.QMenu("&Prior", parent)
        self.menu.addActions([self.linked_action, self.realign_action, self.offset_action, self.swap_action])
        prior.linkChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        link = self.prior.link
        for action in (self.close_action, self.linked_action, self.realign_action, self.offset_action,
                       self.swap_action):
            action.setEnabled(link is not None)
        self.linked_action.blockSignals(True)
        self.linked_action.setChecked(link is None or link.linked)
        self.linked_action.blockSignals(False)

    def _action(self, text: str, slot: Callable[[], object]) -> QtGui.QAction:
        action = QtGui.QAction(text, self.parent)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _open(self, title: str, folder: bool = False) -> None:
        path = ask_scan_path(self.parent, title, folder)
        if path:
            self.prior.open(path)

    def _ask_offset(self) -> None:
        link = self.prior.link
        if link is None:
            return
        now = ",".join(f"{v:g}" for v in link.alignment.offset_mm)
        text, ok = QtWidgets.QInputDialog.getText(
            self.parent, "Prior offset", "Where the prior is, from the current scan, in mm\n"
            "(Z, or X,Y,Z in LPS: left, posterior, superior positive):", text=now)
        if not ok:
            return
        try:
            self.prior.set_offset(parse_offset(text))
        except ValueError as exc:
            QtWidgets.QMessageBox.warning(self.parent, "Prior offset", str(exc))
