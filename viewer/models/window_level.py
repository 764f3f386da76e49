"""Display window (width/level in HU): defaults, presets and mouse-drag adjustment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from inference.body_region import IMAGE_OTHER, scan_region

from .presets import window_presets

if TYPE_CHECKING:
    from inference.io import Volume

MIN_WIDTH = 1.0
# the standard preset a scan without a window of its own opens in, by the region it shows
REGION_PRESETS = {"chest": "Lung", "head": "Brain", "abdomen": "Soft tissue", IMAGE_OTHER: "Soft tissue"}


@dataclass(frozen=True)
class WindowLevel:
    """A display window in HU: voxels in ``[level - width/2, level + width/2]`` span black..white."""

    width: float
    level: float
    name: str = ""

    def dragged(self, dx: float, dy: float, hu_per_pixel: float = 2.0) -> "WindowLevel":
        """The window after a mouse drag of ``(dx, dy)`` pixels.

        Same convention as 3D Slicer: right widens the window, down raises the level.
        """
        width = max(MIN_WIDTH, self.width + dx * hu_per_pixel)
        return WindowLevel(width, self.level + dy * hu_per_pixel, "Custom")

    def __str__(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return f"{label}W {self.width:.0f} / L {self.level:.0f}"


def file_window(metadata: Mapping[str, Any] | None) -> WindowLevel | None:
    """The window the file declares (a DICOM header's), or None."""
    meta = metadata or {}
    width, center = meta.get("window_width"), meta.get("window_center")
    try:
        if width is not None and center is not None and float(width) >= MIN_WIDTH:
            return WindowLevel(float(width), float(center), "File")
    except (TypeError, ValueError):
        pass
    return None


def default_window(voxels: np.ndarray, metadata: Mapping[str, Any] | None = None) -> WindowLevel:
    """The file's own window when it declares one, else the 1st..99th percentile of the voxels."""
    return file_window(metadata) or percentile_window(voxels)


def opening_window(volume: "Volume", region: str | None = None) -> WindowLevel:
    """The window a scan opens in: the file's own; else the standard preset of the region it
    shows (:func:`inference.body_region.scan_region`: a chest in the lung window, a head in the
    brain window, an abdomen or another non-chest body in soft tissue); else, where the region
    cannot be told (no HU, a small field of view), the percentile window. ``region``: the
    scan's region when already known (None: tell it here)."""
    if file_window(volume.metadata) is not None:
        preset = None
    else:
        preset = REGION_PRESETS.get(scan_region(volume) if region is None else region)
    for p in window_presets():
        if p.name == preset:
            return WindowLevel(p.width, p.level, p.name)
    return default_window(volume.voxels, volume.metadata)


def percentile_window(voxels: np.ndarray, lo: float = 1.0, hi: float = 99.0) -> WindowLevel:
    """A window spanning the ``lo``..``hi`` percentiles (computed on a strided sample: fast)."""
    step = max(1, int(round((voxels.size / 2_000_000) ** (1 / 3))))
    sample = voxels[::step, ::step, ::step]
    p_lo, p_hi = np.percentile(sample, [lo, hi])
    width = max(MIN_WIDTH, float(p_hi - p_lo))
    return WindowLevel(width, float(p_lo + p_hi) / 2.0, "Auto")
