"""View > Thick slab: the plain slice, or a MIP, MinIP or mean projection over a chosen thickness."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from ..models.reading import ReadingState
from ..models.slab import SLAB_NAMES, SLAB_THICKNESSES_MM, Slab, SlabMode


class SlabMenu(QtWidgets.QMenu):
    """A checkable action per projection (S cycles none -> MIP -> MinIP -> mean) and per thickness;
    both follow the reading state's slab, whoever sets it (the menu, ``ctchat view --slab``)."""

    def __init__(self, reading: ReadingState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Thick &slab", parent)
        self._reading = reading
        modes = QtGui.QActionGroup(self)
        self.mode_actions: dict[SlabMode | None, QtGui.QAction] = {}
        for mode, text in ((None, "&Off (the slice)"), *((m, f"&{SLAB_NAMES[m]}") for m in SlabMode)):
            action = QtGui.QAction(text, self, checkable=True)
            action.triggered.connect(lambda _c=False, m=mode: self._set(mode=m))
            modes.addAction(action)
            self.addAction(action)
            self.mode_actions[mode] = action
        self.addSeparator()
        sizes = QtGui.QActionGroup(self)
        sizes.setExclusionPolicy(QtGui.QActionGroup.ExclusionPolicy.ExclusiveOptional)
        self.thickness_actions: dict[float, QtGui.QAction] = {}
        for mm in SLAB_THICKNESSES_MM:
            action = QtGui.QAction(f"{mm:g} mm", self, checkable=True)
            action.triggered.connect(lambda _c=False, t=mm: self._set(thickness=t))
            sizes.addAction(action)
            self.addAction(action)
            self.thickness_actions[mm] = action
        self.addSeparator()
        self.cycle_action = self.addAction("&Next projection", QtGui.QKeySequence("S"), self.cycle)
        reading.slab_changed.connect(self._show)
        self._show(reading.slab)

    def _set(self, mode: SlabMode | None | str = "keep", thickness: float | None = None) -> None:
        # One of the two changes; the other keeps its value ("keep": the mode in use).
        now = self._reading.slab
        self._reading.set_slab(Slab(now.mode if mode == "keep" else mode, thickness or now.thickness_mm))

    def cycle(self) -> None:
        """The next projection: off, MIP, MinIP, mean, off..."""
        order = [None, *SlabMode]
        self._set(mode=order[(order.index(self._reading.slab.mode) + 1) % len(order)])

    def _show(self, slab: Slab) -> None:
        self.mode_actions[slab.mode].setChecked(True)
        action = self.thickness_actions.get(slab.thickness_mm)
        if action is not None:
            action.setChecked(True)
        else:  # a thickness from the command line: no menu item is it
            for a in self.thickness_actions.values():
                a.setChecked(False)
