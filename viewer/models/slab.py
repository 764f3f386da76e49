"""Thick slabs: a maximum, minimum or mean intensity projection over the slices near the one in view.

A slab of thickness ``T`` mm around slice ``k`` takes the slices whose centres lie within
``T / 2`` mm of slice ``k``'s centre (so a 20 mm slab of 5 mm slices takes 5 slices: k-2..k+2).
The projection is numpy's over exactly those voxels: MIP (``np.max``) tells a nodule (a ball,
bright in one slab) from a vessel (a tube, a line through it); MinIP (``np.min``) shows the
airways and emphysema; the mean is a thick, low-noise slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class SlabMode(StrEnum):
    """How the slab's voxels are projected onto one plane."""

    MIP = "mip"
    MINIP = "minip"
    MEAN = "mean"


SLAB_NAMES = {SlabMode.MIP: "MIP", SlabMode.MINIP: "MinIP", SlabMode.MEAN: "Mean"}
SLAB_THICKNESSES_MM = (5.0, 10.0, 20.0, 40.0)  # the menu's choices
MAX_THICKNESS_MM = 500.0


@dataclass(frozen=True)
class Slab:
    """A projection ``mode`` over ``thickness_mm``; None for a mode means the plain slice."""

    mode: SlabMode | None = None
    thickness_mm: float = 20.0

    @property
    def active(self) -> bool:
        """True when the views project a slab instead of showing one slice."""
        return self.mode is not None

    def __str__(self) -> str:
        return f"{SLAB_NAMES[self.mode]} {self.thickness_mm:g} mm" if self.mode else "Slice"


PLAIN = Slab()


def parse_slab(text: str) -> Slab:
    """``"mip:20"`` (``minip``, ``mean``; thickness in mm) as a :class:`Slab`; ``"off"`` the plain
    slice. Raises ValueError with one sentence for anything else."""
    words = text.strip().lower()
    if words in ("", "off", "none"):
        return PLAIN
    mode, _, thickness = words.partition(":")
    if mode not in SlabMode.__members__.values():
        raise ValueError(f"unknown slab {mode!r}: use mip, minip or mean, e.g. mip:20")
    try:
        mm = float(thickness) if thickness else 20.0
    except ValueError:
        raise ValueError(f"slab thickness {thickness!r} is not a number of mm, e.g. mip:20") from None
    if not 0 < mm <= MAX_THICKNESS_MM:
        raise ValueError(f"slab thickness must be between 0 and {MAX_THICKNESS_MM:g} mm (got {mm:g})")
    return Slab(SlabMode(mode), mm)


def slab_range(index: int, n_slices: int, spacing_mm: float, thickness_mm: float) -> tuple[int, int]:
    """``(first, last + 1)``: the slices whose centres lie within ``thickness_mm / 2`` of slice
    ``index``'s, clipped to the scan (at least the slice itself)."""
    half = int(np.floor(0.5 * thickness_mm / max(spacing_mm, 1e-6) + 1e-9))
    return max(0, index - half), min(n_slices, index + half + 1)


def project(voxels: np.ndarray, array_axis: int, lo: int, hi: int, mode: SlabMode,
            out: np.ndarray | None = None) -> np.ndarray:
    """The projection of ``voxels[..lo:hi..]`` along ``array_axis`` (kept, of length 1).

    Max and min keep the voxels' type; the mean is float32 (a float32 sum of at most a few
    hundred int16 values is exact to well under 0.01 HU). ``out``: an array of the result's
    shape and type to write into (the view's displayed image, without a copy).
    """
    index = [slice(None)] * 3
    index[array_axis] = slice(lo, hi)
    part = voxels[tuple(index)]
    if mode == SlabMode.MIP:
        return np.max(part, axis=array_axis, keepdims=True, out=out)
    if mode == SlabMode.MINIP:
        return np.min(part, axis=array_axis, keepdims=True, out=out)
    return np.mean(part, axis=array_axis, keepdims=True, dtype=np.float32, out=out)


def projected_dtype(voxels_dtype: np.dtype, mode: SlabMode) -> np.dtype:
    """The type :func:`project` gives for ``mode`` on voxels of ``voxels_dtype``."""
    return np.dtype(np.float32) if mode == SlabMode.MEAN else np.dtype(voxels_dtype)
