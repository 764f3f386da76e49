"""Which views the window shows, and where: a layout (2x2 four-up, 1x3, 1x1), the view a 1x1
layout shows, and the view maximised over the layout (double-click)."""

from __future__ import annotations

from typing import Sequence

from .events import Event

LAYOUT_2X2 = "2x2"
LAYOUT_1X3 = "1x3"
LAYOUT_1X1 = "1x1"
LAYOUT_LUNG_MEDIASTINUM = "lung|mediastinum"  # the chest's hanging protocol (viewer.models.hanging)
LAYOUT_PRIOR = "current|prior"  # the current scan's axial view beside a prior's (viewer.window.prior_compare)
# Cells (row, column) of the views named axial, 3d, sagittal, coronal; absent = hidden.
# 2x2 is the window's original Four-Up (axial, 3D / sagittal, coronal); 1x3 is OHIF's MPR row.
LAYOUTS: dict[str, dict[str, tuple[int, int]]] = {
    LAYOUT_2X2: {"axial": (0, 0), "3d": (0, 1), "sagittal": (1, 0), "coronal": (1, 1)},
    LAYOUT_1X3: {"axial": (0, 0), "sagittal": (0, 1), "coronal": (0, 2)},
    LAYOUT_1X1: {},  # the main view alone
    # two axial views side by side, each in its own window (the second one: "second_axial")
    LAYOUT_LUNG_MEDIASTINUM: {"axial": (0, 0), "second_axial": (0, 1)},
    LAYOUT_PRIOR: {"axial": (0, 0), "prior_axial": (0, 1)},
}
LAYOUT_NAMES = {LAYOUT_2X2: "&2 x 2 (Four-Up)", LAYOUT_1X3: "1 x &3 (axial, sagittal, coronal)",
                LAYOUT_1X1: "&1 x 1 (focused view)",
                LAYOUT_LUNG_MEDIASTINUM: "&Lung | mediastinum (two axial windows)",
                LAYOUT_PRIOR: "&Current | prior (File > Open prior…)"}


def layout_choices() -> Sequence[tuple[str, str]]:
    """``(layout, menu text)`` in menu order."""
    return [(n, LAYOUT_NAMES[n]) for n in (LAYOUT_1X1, LAYOUT_1X3, LAYOUT_2X2, LAYOUT_LUNG_MEDIASTINUM, LAYOUT_PRIOR)]


class ViewLayout:
    """The layout chosen, the main view (shown by 1x1) and the maximised view, if any.

    Event: ``changed(layout_name)`` after every :meth:`set_layout` and :meth:`toggle_maximised`.
    """

    def __init__(self) -> None:
        self.layout_name = LAYOUT_2X2
        self.main_view = "axial"
        self.maximised: str | None = None
        self.changed = Event()

    def cells(self) -> dict[str, tuple[int, int]]:
        """The views shown now and their cells (row, column)."""
        if self.maximised is not None:
            return {self.maximised: (0, 0)}
        return LAYOUTS[self.layout_name] or {self.main_view: (0, 0)}

    def set_layout(self, name: str, main_view: str | None = None) -> None:
        """Show layout ``name``; 1x1 shows ``main_view`` (default: the last one chosen)."""
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}: choose one of {', '.join(LAYOUTS)}")
        self.main_view = main_view or self.main_view
        self.layout_name = name
        self.maximised = None
        self.changed.emit(name)

    def toggle_maximised(self, name: str) -> None:
        """Show view ``name`` alone, or go back to the layout when it is the maximised one."""
        self.maximised = None if self.maximised == name else name
        self.changed.emit(self.layout_name)
