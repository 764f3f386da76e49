"""The 3D view's copy of a scan: block-averaged to fit the renderer's voxel budget, padded where
VTK's ray casters cannot draw it, with the reason when it cannot be drawn at all (numpy only:
the load worker prepares it off the UI thread)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

MIN_RAYCAST_VOXELS = 8  # thinner axes are padded for the CPU ray caster (see VRData)


def safe_spacing(spacing_zyx: Sequence[float]) -> tuple[float, float, float]:
    """Spacing VTK can draw: a zero, negative or non-finite entry becomes 1 mm."""
    return tuple(float(s) if np.isfinite(s) and s > 0 else 1.0 for s in spacing_zyx)  # type: ignore[return-value]


def volume_render_problem(shape_zyx: Sequence[int]) -> str | None:
    """Why the 3D view cannot ray-cast a volume of this shape, or None when it can.

    VTK's ray casters interpolate between neighbouring voxels along every axis and read past
    the buffer (a segfault) when an axis is one voxel thick, e.g. a single slice.
    """
    nz, ny, nx = (int(n) for n in shape_zyx)
    if nz < 2:
        return "3D rendering needs at least 2 slices"
    if ny < 2 or nx < 2:
        return "3D rendering needs at least 2 rows and 2 columns"
    return None


def downsample_factors(shape_zyx: Sequence[int], max_voxels: int) -> tuple[int, int, int]:
    """Integer strides (z, y, x) so the volume fits ``max_voxels``; in-plane axes are reduced first
    because CT slices are usually much finer than the slice spacing. No axis is reduced below
    2 voxels (see :func:`volume_render_problem`)."""
    f = [1, 1, 1]
    n = [int(v) for v in shape_zyx]

    def fits() -> bool:
        return (n[0] // f[0]) * (n[1] // f[1]) * (n[2] // f[2]) <= max_voxels

    while not fits():
        in_plane = n[1] / f[1] >= 2 * n[0] / f[0] or n[2] / f[2] >= 2 * n[0] / f[0]
        axes = [a for a in ((1, 2) if in_plane else (0, 1, 2)) if n[a] // (2 * f[a]) >= 2]
        if not axes:  # the preferred axes are spent: halve whichever still can be
            axes = [a for a in (0, 1, 2) if n[a] // (2 * f[a]) >= 2]
        if not axes:
            break
        for a in axes:
            f[a] *= 2
    return f[0], f[1], f[2]


def downsample(voxels: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Block-mean downsampling by integer factors (z, y, x); output float32 HU, C-contiguous."""
    fz, fy, fx = factors
    if (fz, fy, fx) == (1, 1, 1):
        return np.ascontiguousarray(voxels, dtype=np.float32)
    nz, ny, nx = (s - s % f for s, f in zip(voxels.shape, factors))
    v = voxels[:nz, :ny, :nx].astype(np.float32)
    v = v.reshape(nz // fz, fz, ny // fy, fy, nx // fx, fx).mean(axis=(1, 3, 5))
    return np.ascontiguousarray(v, dtype=np.float32)


class VRData:
    """The 3D view's copy of a scan: block-averaged to fit a voxel budget, with its geometry."""

    def __init__(self, voxels: np.ndarray, spacing_zyx: Sequence[float], max_voxels: int) -> None:
        self.full_shape = tuple(int(n) for n in voxels.shape)
        self.factors = downsample_factors(voxels.shape, max_voxels)
        self.voxels = downsample(voxels, self.factors)
        spacing_zyx = safe_spacing(spacing_zyx)
        self.spacing_zyx = tuple(s * f for s, f in zip(spacing_zyx, self.factors))
        # A block mean sits half a (coarse - fine) voxel in from the first fine voxel.
        fine_xyz = np.array(spacing_zyx[::-1], dtype=float)
        self.origin_xyz = tuple((np.array(self.factors[::-1]) - 1) * fine_xyz / 2.0)
        # VTK's fixed-point ray caster scales its lookup tables by 1 / (max - min): a volume of
        # one value makes that infinite and the renderer reads outside its tables (a segfault)
        self.one_value = bool(self.voxels.size) and float(self.voxels.min()) == float(self.voxels.max())
        if not self.one_value and volume_render_problem(self.voxels.shape) is None:
            self._pad_thin_axes()

    def _pad_thin_axes(self) -> None:
        """Pad axes under MIN_RAYCAST_VOXELS with the darkest value (drawn transparent).

        VTK 9.7's fixed-point ray caster segfaults on some thin slabs of real CT (3 or 4 slices
        of 512 x 512); the same slabs with air slices around them render safely.
        """
        short = [max(0, MIN_RAYCAST_VOXELS - n) for n in self.voxels.shape]
        if not any(short):
            return
        pads = [(m // 2, m - m // 2) for m in short]
        self.voxels = np.pad(self.voxels, pads, constant_values=self.voxels.min())
        before_xyz = np.array([p[0] for p in pads[::-1]], dtype=float)
        self.origin_xyz = tuple(np.array(self.origin_xyz) - before_xyz * np.array(self.spacing_zyx[::-1]))

    @property
    def downsampled(self) -> bool:
        """True when the 3D view shows fewer voxels than the scan has."""
        return self.factors != (1, 1, 1)

    @property
    def problem(self) -> str | None:
        """Why this data cannot be volume-rendered (a one-line message), or None."""
        problem = volume_render_problem(self.voxels.shape)
        if problem is None and self.one_value:
            return "3D rendering: every voxel holds the same value, there is nothing to show"
        return problem
