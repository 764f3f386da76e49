"""A regular grid from a DICOM series whose slices are unevenly spaced, have a gap or are
sheared (gantry tilt).

The viewer and the model need slices a constant step apart, each perpendicular to the
stacking direction. When the spacing varies (a head protocol at 4 mm then 7 mm), slices are
missing (one step of 2 or more slices) or the gantry was tilted (each slice shifted in-plane
along the stack), the slices are resampled as dcm2niix's equidistant-slice and gantry-tilt
corrections and 3D Slicer's acquisition geometry regularisation do:

* the grid runs along the slice normal; its step is the **smallest** step between slices
  (median of the steps within 1 % of the smallest) when the spacing varies, else the regular
  (median) step, so no part of the scan is thinned out, and it is anchored on the stored
  slices so that as many of them as possible lie exactly on it (those are copied unchanged;
  the grid stays within the span of the stored slices);
* a grid slice between two stored slices is their linear interpolation at its true position
  (in a gap: the missing slices, interpolated between the slices on either side);
* for tilt, each stored slice is shifted in-plane (bilinear, exact for whole-pixel shifts) by
  how far its ImagePositionPatient lies off the line along the normal, and the image grows
  so that no pixel is lost (as dcm2niix's ``_Tilt_`` output does).

The stored slices and their true positions are kept (:class:`~.volume.OriginalSlices`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import errors as E
from .checks import ensure_memory
from .dicom_geometry import SPACING_ATOL_MM, SPACING_RTOL, Issue, SeriesGeometry
from .reorient import Reorientation, regular_slice_positions, reorient_to_lps
from .volume import OriginalSlices

SHIFT_MIN_PX = 0.2  # tilt shear below this (pixels, over the whole series) is left uncorrected
WHOLE_PX = 1e-3  # shifts this close to a whole pixel are applied as exact copies


@dataclass
class GridPlan:
    """Where each grid slice comes from: ``(1 - weight) * slice[src] + weight * slice[src + 1]``."""

    positions: np.ndarray  # (n_grid,) mm along the normal, ascending, ``step`` apart
    step: float
    src: np.ndarray  # (n_grid,) lower stored slice
    weight: np.ndarray  # (n_grid,) 0 = on the stored slice ``src``
    shifts: np.ndarray  # (n, 2) (columns, rows) each stored slice lies off the grid line, px
    lo: tuple[int, int]  # (column, row) index of the stored slice 0's pixel [0, 0] is -lo
    shape: tuple[int, int]  # (rows, columns) of the grid


@dataclass
class Assembled:
    """A series on its final (LPS-ordered) grid, ready to become a :class:`~.volume.Volume`."""

    voxels: np.ndarray
    affine: np.ndarray
    positions: np.ndarray
    change: Reorientation
    issues: list[Issue]
    original: OriginalSlices | None


def assemble_grid(voxels: np.ndarray, geometry: SeriesGeometry) -> Assembled:
    """Reorient a decoded series (sorted slices) to LPS, on a regular grid when it needs one."""
    plan = plan_grid(geometry, voxels.shape[1:])
    if plan is None:
        out, affine, change = reorient_to_lps(voxels, geometry.affine)
        if change.k_source_axis == 2 and geometry.ipp is not None:
            positions = geometry.ipp @ (affine[:3, 2] / np.linalg.norm(affine[:3, 2]))
            positions = positions[::-1] if change.k_flipped else positions
        else:
            positions = regular_slice_positions(affine, out.shape[0])
        return Assembled(out, affine, positions, change, _worded(geometry, None, len(voxels), False), None)

    n_grid, (rows, cols) = len(plan.positions), plan.shape
    ensure_memory(n_grid * rows * cols * voxels.itemsize, f"the regular grid of this series ({n_grid} x {rows} x {cols})")
    grid = resample(voxels, plan, pad=float(voxels.min()))
    out, affine, change = reorient_to_lps(grid, grid_affine(geometry, plan))
    raw, raw_affine, raw_change = reorient_to_lps(voxels, geometry.affine)
    unit = affine[:3, 2] / np.linalg.norm(affine[:3, 2])
    # each stored slice's voxel [0, 0] after reorientation: its IPP plus the same in-plane offset
    first = len(voxels) - 1 if raw_change.k_flipped else 0
    inplane = raw_affine[:3, 3] - (geometry.affine @ np.array([0.0, 0.0, first, 1.0]))[:3]
    origins = geometry.ipp + inplane
    order = slice(None, None, -1) if raw_change.k_flipped else slice(None)
    original = OriginalSlices(raw, (geometry.ipp @ unit)[order], origins[order], raw_affine)
    issues = _worded(geometry, plan, len(voxels), (rows, cols) != voxels.shape[1:])
    return Assembled(out, affine, regular_slice_positions(affine, out.shape[0]), change, issues, original)


def plan_grid(geometry: SeriesGeometry, slice_shape: tuple[int, int]) -> GridPlan | None:
    """The regular grid a series needs, or None when its slices already form one."""
    codes = {issue.code for issue in geometry.issues}
    if geometry.ipp is None or len(geometry.positions) < 2:
        return None
    p, ipp, affine = geometry.positions, geometry.ipp, geometry.affine
    dx, dy = np.linalg.norm(affine[:3, 0]), np.linalg.norm(affine[:3, 1])
    row, col = affine[:3, 0] / dx, affine[:3, 1] / dy
    normal = np.cross(row, col)
    off_line = (ipp - ipp[0]) - np.outer(p - p[0], normal)
    shifts = np.stack([off_line @ row / dx, off_line @ col / dy], axis=1)
    tilted = E.GANTRY_TILT in codes and float(np.abs(shifts).max()) >= SHIFT_MIN_PX
    if E.UNEVEN_SPACING not in codes and E.SLICE_GAP not in codes and not tilted:
        return None

    steps = np.diff(p)
    if E.UNEVEN_SPACING in codes:
        smallest = steps.min()
        step = float(np.median(steps[steps <= smallest * (1 + SPACING_RTOL) + SPACING_ATOL_MM]))
    else:
        step = float(np.median(steps))
    tol = max(SPACING_ATOL_MM, SPACING_RTOL * step)
    # anchor: the stored slice that puts the most stored slices on the grid
    frac = (p[None, :] - p[:, None]) / step
    on = np.abs(frac - np.rint(frac)) * step <= tol
    anchor = p[int(np.argmax(on.sum(axis=1)))]
    m = np.arange(np.ceil((p[0] - anchor) / step - tol / step), np.floor((p[-1] - anchor) / step + tol / step) + 1)
    positions = anchor + m * step

    src = np.clip(np.searchsorted(p, positions, side="right") - 1, 0, len(p) - 1)
    nearest = np.argmin(np.abs(p[None, :] - positions[:, None]), axis=1)
    on_slice = np.abs(p[nearest] - positions) <= tol
    src = np.where(on_slice, nearest, np.minimum(src, len(p) - 2))
    gap = p[np.minimum(src + 1, len(p) - 1)] - p[src]
    weight = np.divide(positions - p[src], gap, out=np.zeros_like(gap), where=~on_slice & (gap > 0))
    weight = np.clip(weight, 0.0, 1.0)

    if not tilted:
        shifts = np.zeros_like(shifts)
    shifts = np.where(np.abs(shifts - np.rint(shifts)) < WHOLE_PX, np.rint(shifts), shifts)
    lo = np.floor(shifts.min(axis=0)).astype(int)
    hi = np.ceil(shifts.max(axis=0)).astype(int)
    shape = (int(slice_shape[0] + hi[1] - lo[1]), int(slice_shape[1] + hi[0] - lo[0]))
    return GridPlan(positions, step, src, weight, shifts, (int(lo[0]), int(lo[1])), shape)


def grid_affine(geometry: SeriesGeometry, plan: GridPlan) -> np.ndarray:
    """Index -> LPS affine of the grid: in-plane as stored, the slice axis along the normal."""
    affine = geometry.affine.copy()
    row, col = affine[:3, 0], affine[:3, 1]
    normal = np.cross(row, col) / np.linalg.norm(np.cross(row, col))
    affine[:3, 2] = normal * plan.step
    affine[:3, 3] = (geometry.ipp[0] + (plan.positions[0] - geometry.positions[0]) * normal
                     + plan.lo[0] * row + plan.lo[1] * col)
    return affine


def resample(voxels: np.ndarray, plan: GridPlan, pad: float) -> np.ndarray:
    """The grid's voxels: stored slices shifted in-plane and interpolated along the normal.

    int16 input gives int16 (rounded); a grid slice on a stored slice with a whole-pixel
    shift is an exact copy of it.
    """
    out = np.empty((len(plan.positions), *plan.shape), dtype=voxels.dtype)
    for g, (k, w) in enumerate(zip(plan.src, plan.weight)):
        value = _placed(voxels[k], plan, k, pad)
        if w > 0:
            value = value * np.float32(1 - w) + _placed(voxels[k + 1], plan, k + 1, pad) * np.float32(w)
        out[g] = np.rint(value) if np.issubdtype(out.dtype, np.integer) else value
    return out


def _placed(image: np.ndarray, plan: GridPlan, k: int, pad: float) -> np.ndarray:
    """Stored slice ``k`` on the grid's in-plane raster (float32, ``pad`` where it has no data)."""
    out = image.astype(np.float32)
    for axis, shift, lo, n_out in ((1, plan.shifts[k, 0], plan.lo[0], plan.shape[1]),
                                   (0, plan.shifts[k, 1], plan.lo[1], plan.shape[0])):
        start = lo - shift  # stored index of grid index 0 along this axis
        whole = int(np.floor(start))
        frac = np.float32(start - whole)
        moved = _window(out, axis, whole, n_out, pad)
        if frac > 0:
            moved = moved * (1 - frac) + _window(out, axis, whole + 1, n_out, pad) * frac
        out = moved
    return out


def _window(a: np.ndarray, axis: int, start: int, n_out: int, pad: float) -> np.ndarray:
    """``a`` indexed ``start .. start + n_out - 1`` along ``axis``, ``pad`` beyond its ends."""
    shape = list(a.shape)
    shape[axis] = n_out
    out = np.full(shape, pad, dtype=np.float32)
    lo, hi = max(start, 0), min(start + n_out, a.shape[axis])
    if hi > lo:
        dst = [slice(None)] * 2
        src = [slice(None)] * 2
        dst[axis], src[axis] = slice(lo - start, hi - start), slice(lo, hi)
        out[tuple(dst)] = a[tuple(src)]
    return out


def _worded(geometry: SeriesGeometry, plan: GridPlan | None, n: int, widened: bool) -> list[Issue]:
    """The geometry issues, saying what was done, with slice indices in grid numbering."""
    if plan is None:
        return [replace(i, detail=f"{i.detail} by under {SHIFT_MIN_PX} pixel: left uncorrected")
                if i.code == E.GANTRY_TILT and i.detail.endswith("sheared") else i for i in geometry.issues]

    def to_grid(k: int) -> int:
        return int(np.argmin(np.abs(plan.positions - geometry.positions[k])))

    steps = np.diff(geometry.positions)
    kept = f"the original {n} slices are kept"
    out = []
    for issue in geometry.issues:
        detail = issue.detail
        if issue.code == E.UNEVEN_SPACING:
            where = "; ".join(f"{steps[k]:.2f} mm between slices {k} and {k + 1}" for k in issue.slices[:3])
            more = f" and {len(issue.slices) - 3} more" if len(issue.slices) > 3 else ""
            detail = (f"slice spacing varies from {steps.min():.1f} to {steps.max():.1f} mm ({where}{more}): "
                      f"resampled to a regular {plan.step:.1f} mm grid (the smallest step) by linear "
                      f"interpolation between the true slice positions, for display and the model; {kept}")
        elif issue.code == E.SLICE_GAP:
            detail, interpolated = _gap_detail(issue, steps, plan, to_grid)
            out.append(replace(issue, detail=f"{detail}; {kept}", slices=interpolated))
            continue
        elif issue.code == E.GANTRY_TILT and not np.abs(plan.shifts).max() > 0 and detail.endswith("sheared"):
            detail = f"{detail} by under {SHIFT_MIN_PX} pixel: left uncorrected"
        elif issue.code == E.GANTRY_TILT and np.abs(plan.shifts).max() > 0:
            spacing = np.linalg.norm(geometry.affine[:3, :2], axis=0)
            mm = float(np.abs(plan.shifts * spacing).max())
            grown = f", which widens the image to {plan.shape[1]} x {plan.shape[0]} pixels" if widened else ""
            detail = (f"{detail}: each slice was shifted in-plane (up to {mm:.1f} mm, linear interpolation, "
                      f"as dcm2niix's tilt correction does) onto a grid along the slice normal, "
                      f"{plan.step:.2f} mm apart, for display and the model{grown}; {kept}")
        out.append(replace(issue, detail=detail, slices=tuple(sorted({to_grid(k) for k in issue.slices}))))
    return out


def _gap_detail(issue: Issue, steps: np.ndarray, plan: GridPlan, to_grid) -> tuple[str, tuple[int, ...]]:
    """The sentence for missing slices, in the viewer's slice numbers (from 1), and the grid
    slices that were interpolated to fill them."""
    parts, filled = [], []
    for k in issue.slices:
        a, b = to_grid(k), to_grid(k + 1)
        filled += range(a + 1, b)
        parts.append(f"{b - a - 1} slice{'s were' if b - a - 1 != 1 else ' was'} missing between slice {a + 1} "
                     f"and slice {b + 1} ({steps[k]:.2f} mm apart)")
    more = f" and {len(issue.slices) - 3} more gaps" if len(issue.slices) > 3 else ""
    detail = (f"gap in the slices: {'; '.join(parts[:3])}{more}, where the series steps {plan.step:.2f} mm: the missing slices were "
              "filled by linear interpolation between their neighbours for display and the model (they are "
              "not real data)")
    return detail, tuple(filled)
