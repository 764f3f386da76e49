"""Oblique planes: the three slice views reformatted along rotated axes through the crosshair.

The views draw in a *display frame*: VTK world millimetres (array index x spacing, see
:mod:`viewer.models.planes`) turned by a rotation ``R`` about the crosshair point ``c``. A point
``d`` drawn in a view is the scan's point ``R (d - c) + c``. So each view shows the plane through
the crosshair whose normal is its own axis turned by ``R``, the crosshair lines (still straight
across each view) mark the other two turned planes, and the crosshair point is where it was.
The crosshair stays a voxel of the scan: everything that reads it (the chat, the readout, the
slice labels) is unchanged; stepping a view moves it one voxel along the scan's axis and the
three planes follow it.

Numpy only: the views reslice with vtkImageReslice (:mod:`viewer.views.oblique`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

PLANE_AXES = {"sagittal": 0, "coronal": 1, "axial": 2}  # the VTK axis (x = i, y = j, z = k) each plane steps


def axis_rotation(axis: int, degrees: float) -> np.ndarray:
    """The 3x3 rotation by ``degrees`` about VTK axis ``axis`` (right-handed about + that axis)."""
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    a, b = [n for n in range(3) if n != axis]
    r = np.eye(3)
    r[a, a], r[a, b], r[b, a], r[b, b] = c, -s, s, c
    if axis == 1:  # about y the cyclic order is (z, x): keep the rotation right-handed
        r[a, b], r[b, a] = s, -s
    return r


@dataclass(frozen=True)
class Oblique:
    """The display frame's rotation ``R`` (3x3, VTK world axes); the identity: plain views."""

    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))

    @property
    def active(self) -> bool:
        """True when the views are turned (not the plain axis-aligned planes)."""
        return not np.allclose(self.rotation, np.eye(3))

    def turned(self, axis: int, degrees: float) -> "Oblique":
        """This frame turned a further ``degrees`` about its own ``axis`` (the axis of the view in
        which the reader turned the crosshair)."""
        return Oblique(self.rotation @ axis_rotation(axis, degrees))

    def reslice_axes(self, centre_mm: Sequence[float]) -> np.ndarray:
        """The 4x4 matrix from display mm to scan mm about ``centre_mm`` (the crosshair, VTK
        world): vtkImageReslice's reslice axes."""
        c = np.asarray(centre_mm, float)
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = c - self.rotation @ c
        return m

    def to_scan(self, display_mm: Sequence[float], centre_mm: Sequence[float]) -> np.ndarray:
        """The scan point (VTK world mm) drawn at ``display_mm``."""
        return (self.reslice_axes(centre_mm) @ np.append(np.asarray(display_mm, float), 1.0))[:3]

    def to_display(self, scan_mm: Sequence[float], centre_mm: Sequence[float]) -> np.ndarray:
        """Where scan point ``scan_mm`` (VTK world mm) is drawn; the inverse of :meth:`to_scan`."""
        c = np.asarray(centre_mm, float)
        return self.rotation.T @ (np.asarray(scan_mm, float) - c) + c

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Oblique) and np.allclose(self.rotation, other.rotation)

    def __hash__(self) -> int:
        return hash(tuple(np.round(self.rotation, 9).ravel()))


PLAIN_FRAME = Oblique()


def parse_oblique(text: str) -> Oblique:
    """``"axial:30"`` (a plane and degrees; several joined by commas turn one after another) as an
    :class:`Oblique`; ``"off"``: the plain frame. Raises ValueError with one sentence."""
    frame = PLAIN_FRAME
    if text.strip().lower() in ("", "off", "none"):
        return frame
    for part in text.split(","):
        plane, _, degrees = part.strip().partition(":")
        if plane.strip().lower() not in PLANE_AXES:
            raise ValueError(f"unknown plane {plane.strip()!r} in {text!r}: write axial:30, coronal:-15 or sagittal:20")
        try:
            angle = float(degrees)
        except ValueError:
            raise ValueError(f"{part.strip()!r} needs an angle in degrees after the colon, e.g. axial:30") from None
        frame = frame.turned(PLANE_AXES[plane.strip().lower()], angle)
    return frame


def sample_linear(voxels_kji: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    """Trilinear values of ``voxels[k, j, i]`` at continuous voxel positions ``ijk`` (``(..., 3)``,
    (i, j, k) order), as vtkImageReslice's linear mode cuts them; a position outside the volume
    gets its darkest value (the reslice's background level, what the view draws there)."""
    n_ijk = np.array(voxels_kji.shape[::-1])
    p = np.asarray(ijk, float)
    inside = np.all((p >= -1e-6) & (p <= n_ijk - 1 + 1e-6), axis=-1)
    p = np.clip(p, 0, n_ijk - 1)
    lo = np.minimum(np.floor(p).astype(int), np.maximum(n_ijk - 2, 0))  # the last voxel interpolates inward
    hi = np.minimum(lo + 1, n_ijk - 1)
    f = p - lo
    values = np.zeros(p.shape[:-1])
    for corner in np.ndindex(2, 2, 2):  # the 8 voxels around each position, weighted by nearness
        idx = [np.where(c, hi[..., a], lo[..., a]) for a, c in enumerate(corner)]
        weight = np.prod([np.where(c, f[..., a], 1.0 - f[..., a]) for a, c in enumerate(corner)], axis=0)
        values += weight * voxels_kji[idx[2], idx[1], idx[0]]
    if not inside.all():
        values[~inside] = float(voxels_kji.min())
    return values


def turned_plane_patch(voxels_kji: np.ndarray, spacing: Sequence[float], rotation: np.ndarray,
                       centre_mm: Sequence[float], axes_rc: tuple[int, int], half_rc: Sequence[int]) -> np.ndarray:
    """A 2-D image of the turned plane around scan point ``centre_mm`` (VTK world mm), on the plain
    slice's pixel size: pixel ``(r, c)`` of the ``(2 half_r + 1, 2 half_c + 1)`` image lies at
    ``centre + R ((r - half_r) dr e_row + (c - half_c) dc e_col)``, the rows and columns running
    along the display axes ``axes_rc`` turned by ``rotation`` (R). Its centre pixel is ``half_rc``.

    Anchored at ``centre_mm``, not at the crosshair: the same ellipse then samples the same points
    whatever crosshair point the plane is shown through (a restored ROI measures what it did)."""
    sp = np.asarray(spacing, float)
    (row_axis, col_axis), (half_r, half_c) = axes_rc, (int(half_rc[0]), int(half_rc[1]))
    steps_r = np.arange(-half_r, half_r + 1)[:, None, None] * sp[row_axis] * rotation[:, row_axis]
    steps_c = np.arange(-half_c, half_c + 1)[None, :, None] * sp[col_axis] * rotation[:, col_axis]
    points_mm = np.asarray(centre_mm, float) + steps_r + steps_c
    return sample_linear(voxels_kji, points_mm / sp)
