"""Measurement maths for the viewer (pure numpy, no Qt): ruler length, ellipse ROI statistics,
the slice position read-out and the scale bar's length.

Points are continuous array indices ``(i, j, k)``; distances go through the volume's affine
(``(i, j, k, 1) -> LPS mm``), so anisotropic and oblique voxels measure true millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

LPS_LETTERS = "LPS"


def distance_mm(affine: np.ndarray, ijk0: Sequence[float], ijk1: Sequence[float]) -> float:
    """Physical distance (mm) between two continuous voxel positions ``(i, j, k)``.

    Example:
        >>> distance_mm(np.diag([0.5, 0.5, 5.0, 1.0]), (0, 0, 0), (10, 0, 1))
        7.0710678118654755
    """
    delta = np.asarray(ijk1, float) - np.asarray(ijk0, float)
    return float(np.linalg.norm(np.asarray(affine, float)[:3, :3] @ delta))


def slice_position_label(affine: np.ndarray, ijk: Sequence[float], axis: int) -> str:
    """Slicer-style read-out of where a slice lies, e.g. ``"S: 123.4 mm"`` for an axial slice.

    ``axis`` is the index axis the view steps through (0 = i, 1 = j, 2 = k); the letter is the
    LPS world axis that index axis runs closest to, the value that world coordinate of ``ijk``.
    """
    a = np.asarray(affine, float)
    world = (a @ np.append(np.asarray(ijk, float), 1.0))[:3]
    w = int(np.argmax(np.abs(a[:3, axis])))
    return f"{LPS_LETTERS[w]}: {world[w]:.1f} mm"


@dataclass(frozen=True)
class RegionStats:
    """HU statistics of the voxels inside an ellipse on one slice."""

    mean: float
    sd: float
    minimum: float
    maximum: float
    area_mm2: float  # the ellipse's area, pi * a * b (as OHIF and Slicer report it)
    n_voxels: int

    def label(self) -> str:
        """Two-line text drawn beside the ROI."""
        return (f"mean {self.mean:.1f} HU  SD {self.sd:.1f}\n"
                f"min {self.minimum:.0f}  max {self.maximum:.0f}  area {self.area_mm2:.1f} mm²")


def ellipse_mask(shape_rc: Sequence[int], center_rc: Sequence[float], radii_rc: Sequence[float]) -> np.ndarray:
    """Boolean mask of the pixels whose centres lie inside an axis-aligned ellipse.

    ``center_rc`` and ``radii_rc`` are in (row, column) pixel units.
    """
    rows, cols = np.ogrid[: int(shape_rc[0]), : int(shape_rc[1])]
    rr, rc = max(float(radii_rc[0]), 1e-9), max(float(radii_rc[1]), 1e-9)
    return ((rows - center_rc[0]) / rr) ** 2 + ((cols - center_rc[1]) / rc) ** 2 <= 1.0


def ellipse_stats(image_rc: np.ndarray, center_rc: Sequence[float], radii_rc: Sequence[float],
                  spacing_rc: Sequence[float]) -> RegionStats | None:
    """Statistics of ``image_rc`` (one slice, HU) inside an ellipse; None when no pixel is inside.

    ``spacing_rc`` is the pixel size (mm) along rows and columns; the SD is the population SD.
    """
    values = np.asarray(image_rc)[ellipse_mask(image_rc.shape, center_rc, radii_rc)].astype(np.float64)
    if values.size == 0:
        return None
    area = float(np.pi * radii_rc[0] * spacing_rc[0] * radii_rc[1] * spacing_rc[1])
    return RegionStats(float(values.mean()), float(values.std()), float(values.min()),
                       float(values.max()), area, int(values.size))


def plane_image(voxels_kji: np.ndarray, axis: int, index: int) -> np.ndarray:
    """The 2D slice through index axis ``axis`` (0 = i, 1 = j, 2 = k) of ``voxels[k, j, i]``.

    Its rows and columns are the two other index axes, the higher one first (e.g. an axial
    slice is ``[j, i]``, a sagittal one ``[k, j]``).
    """
    return np.take(voxels_kji, index, axis=2 - axis)


def nice_length(max_mm: float) -> float:
    """The longest 1, 2 or 5 x 10^n mm not above ``max_mm`` (a scale bar's length).

    Example:
        >>> nice_length(87.0), nice_length(0.3)
        (50.0, 0.2)
    """
    if not np.isfinite(max_mm) or max_mm <= 0:
        raise ValueError("the scale bar needs a positive length")
    exp = np.floor(np.log10(max_mm))
    for step in (5.0, 2.0, 1.0):
        value = step * 10.0 ** exp
        if value <= max_mm * (1 + 1e-9):
            return float(value)
    return float(10.0 ** exp)


def length_label(mm: float) -> str:
    """``"5 cm"`` for whole centimetres from 1 cm up, otherwise millimetres (``"2 mm"``, ``"0.5 mm"``)."""
    if mm >= 10 and abs(mm / 10 - round(mm / 10)) < 1e-9:
        return f"{mm / 10:g} cm"
    return f"{mm:g} mm"
