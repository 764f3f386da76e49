"""Display window (width/level in HU): defaults, presets and mouse-drag adjustment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

MIN_WIDTH = 1.0


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


def default_window(voxels: np.ndarray, metadata: Mapping[str, Any] | None = None) -> WindowLevel:
    """The file's own window when it declares one, else the 1st..99th percentile of the voxels."""
    meta = metadata or {}
    width, center = meta.get("window_width"), meta.get("window_center")
    try:
        if width is not None and center is not None and float(width) >= MIN_WIDTH:
            return WindowLevel(float(width), float(center), "File")
    except (TypeError, ValueError):
        pass
    return percentile_window(voxels)


def percentile_window(voxels: np.ndarray, lo: float = 1.0, hi: float = 99.0) -> WindowLevel:
    """A window spanning the ``lo``..``hi`` percentiles (computed on a strided sample: fast)."""
    step = max(1, int(round((voxels.size / 2_000_000) ** (1 / 3))))
    sample = voxels[::step, ::step, ::step]
    p_lo, p_hi = np.percentile(sample, [lo, hi])
    width = max(MIN_WIDTH, float(p_hi - p_lo))
    return WindowLevel(width, float(p_lo + p_hi) / 2.0, "Auto")
