"""The reading state the four views share: the scan, the crosshair position, the display window
and what the left mouse button does. The slice views observe it and change it; the window
changes it from menus and keys."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Sequence

from .events import Event
from .oblique import PLAIN_FRAME, Oblique
from .slab import PLAIN, Slab
from .vr_data import VRData
from .window_level import WindowLevel

if TYPE_CHECKING:
    from inference.io import Volume


class Tool(StrEnum):
    """What the left mouse button does in the slice views."""

    NAVIGATE = "navigate"  # set the crosshair
    WINDOW_LEVEL = "window_level"  # drag the display window
    RULER = "ruler"  # a length in mm
    ELLIPSE = "ellipse"  # an ellipse ROI's HU statistics


MEASURE_TOOLS = (Tool.RULER, Tool.ELLIPSE)
DEFAULT_WINDOW = WindowLevel(400, 40, "Soft tissue")


@dataclass
class LoadedScan:
    """A loaded volume plus the display data the load worker prepared."""

    volume: Volume
    path: str
    window: WindowLevel  # the file's own window, else its region's preset, else a percentile window
    vr: VRData | None  # the 3D view's copy, when the worker knew the view's voxel budget
    region: str | None = None  # what inference.body_region.scan_region says it shows (None: not asked yet)


class ReadingState:
    """The scan in view, the crosshair ``(k, j, i)`` (array indices), the window and the tool.

    Events: ``scan_changed(scan)``, ``position_changed(position)``, ``tool_changed(tool)``,
    ``slab_changed(slab)`` and ``oblique_changed(oblique)`` when the value changes; ``window_changed(window)`` on every
    :meth:`set_window` (a preset chosen again is drawn again, as it always was).
    """

    def __init__(self) -> None:
        self.scan: LoadedScan | None = None
        self.position: tuple[int, int, int] = (0, 0, 0)
        self.window = DEFAULT_WINDOW
        self.tool = Tool.NAVIGATE
        self.slab: Slab = PLAIN  # the slice views' thick slab (none: the plain slice)
        self.oblique: Oblique = PLAIN_FRAME  # the slice views' turned frame (none: the plain planes)
        self.scan_changed = Event()
        self.position_changed = Event()
        self.window_changed = Event()
        self.tool_changed = Event()
        self.slab_changed = Event()
        self.oblique_changed = Event()

    def set_scan(self, scan: LoadedScan) -> None:
        """Read ``scan``, the crosshair at its centre voxel (as the slice views open it)."""
        self.scan = scan
        self.scan_changed.emit(scan)
        self.set_position([n // 2 for n in scan.volume.shape])

    def set_position(self, kji: Sequence[int]) -> bool:
        """Move the crosshair to ``kji``, clipped to the scan; True when it moved."""
        if self.scan is None:
            return False
        clipped = tuple(min(max(int(p), 0), n - 1) for p, n in zip(kji, self.scan.volume.shape))
        if clipped == self.position:
            return False
        self.position = clipped  # type: ignore[assignment]
        self.position_changed.emit(self.position)
        return True

    def set_window(self, window: WindowLevel) -> None:
        """Display the slices through ``window``."""
        self.window = window
        self.window_changed.emit(window)

    def drag_window(self, dx: float, dy: float) -> None:
        """The window after a mouse drag of ``(dx, dy)`` pixels: a step of a two-hundredth of
        its width per pixel, at least 1 HU."""
        self.set_window(self.window.dragged(dx, dy, hu_per_pixel=max(1.0, self.window.width / 200.0)))

    def set_tool(self, tool: Tool) -> None:
        """Give the left mouse button to ``tool``."""
        if tool != self.tool:
            self.tool = Tool(tool)
            self.tool_changed.emit(self.tool)

    def set_slab(self, slab: Slab) -> None:
        """Project ``slab`` in the slice views (:data:`~viewer.models.slab.PLAIN`: the slice alone)."""
        if slab != self.slab:
            self.slab = slab
            self.slab_changed.emit(slab)

    def set_oblique(self, oblique: Oblique) -> None:
        """Reformat the slice views along ``oblique``'s turned axes (:data:`PLAIN_FRAME`: the plain planes)."""
        if oblique != self.oblique:
            self.oblique = oblique
            self.oblique_changed.emit(oblique)

    def plain_planes(self) -> None:
        """Back to the plain axial, coronal and sagittal planes (undo any oblique turn)."""
        self.set_oblique(PLAIN_FRAME)
