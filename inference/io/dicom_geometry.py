"""Slice order and world geometry of a DICOM series, with its problems found, never hidden.

Slices are ordered by ImagePositionPatient projected on the slice normal (row x column
cosines), never by InstanceNumber or file name. The affine's slice axis is the median
step between consecutive slices: the geometry of the stored slices. When the spacing is
uneven, slices are missing (a gap) or the gantry tilted, :mod:`.regular_grid` resamples them
onto a regular grid; images at one position are dealt with by :mod:`.duplicates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dicom_scan import SliceRecord
from .errors import CTLoadError

SPACING_RTOL = 0.01  # steps differing from the median by >1 % ...
SPACING_ATOL_MM = 0.01  # ... and by more than 0.01 mm are uneven
GAP_FACTOR = 1.5  # a step over 1.5 x the median is a gap (missing slices)
DUPLICATE_MM = 1e-3
TILT_DEGREES = 0.01


@dataclass
class Issue:
    """A geometry problem in sorted-slice terms; the loader words it after reorientation."""

    code: str
    detail: str
    slices: tuple[int, ...] = ()


@dataclass
class SeriesGeometry:
    """Sorted order of the records, positions along the normal, the affine, and issues."""

    order: np.ndarray
    positions: np.ndarray  # mm along the slice normal, ascending
    affine: np.ndarray  # (i, j, k, 1) -> LPS mm, k in sorted order
    issues: list[Issue] = field(default_factory=list)
    ipp: np.ndarray | None = None  # (n, 3) ImagePositionPatient in sorted order (None: missing)


def analyse_geometry(records: list[SliceRecord]) -> SeriesGeometry:
    """Sort the slices of one series and build its affine, collecting geometry issues.

    ``order`` indexes ``records``; images without a position are left out of it (and
    reported) when the others have one.

    Raises:
        CTLoadError: every image lies at one position: separate pictures, not a volume.
    """
    placed = [k for k, r in enumerate(records) if r.position is not None and r.orientation is not None]
    spacing = records[0].pixel_spacing
    issues: list[Issue] = []
    if spacing is None:
        spacing = (1.0, 1.0)
        issues.append(Issue("missing_geometry", "no PixelSpacing: 1 mm pixels assumed"))
    if len(placed) < len(records) and len(placed) < max(2, (len(records) + 1) // 2):
        return _fallback_geometry(records, spacing, issues, len(placed))  # too few positions to go by
    if len(placed) < len(records):
        issues.append(
            Issue(
                "missing_geometry",
                f"{len(records) - len(placed)} of {len(records)} images have no usable "
                "ImagePositionPatient/ImageOrientationPatient and were left out",
            )
        )

    row_cos, col_cos = records[placed[0]].orientation[:3], records[placed[0]].orientation[3:]
    normal = np.cross(row_cos, col_cos)
    positions = np.array([records[k].position for k in placed])
    along = positions @ normal
    by_position = np.argsort(along, kind="stable")
    order = np.array(placed)[by_position]
    along, positions = along[by_position], positions[by_position]
    if len(placed) > 1 and along[-1] - along[0] < DUPLICATE_MM:
        raise CTLoadError(
            f"all {len(placed)} images of this series lie at one position: they are separate "
            "pictures (a summary or reference page), not the slices of a volume"
        )

    affine = np.eye(4)
    affine[:3, 0] = row_cos * spacing[1]  # column index i moves along the row direction
    affine[:3, 1] = col_cos * spacing[0]  # row index j moves along the column direction
    affine[:3, 3] = positions[0]
    if len(placed) > 1:
        steps = np.diff(positions, axis=0)
        moving = steps[np.linalg.norm(steps, axis=1) >= DUPLICATE_MM]  # duplicates do not set the step
        affine[:3, 2] = np.median(moving, axis=0)
        issues += _spacing_issues(np.diff(along))
        issues += _tilt_issues(steps, normal, records)
    else:
        affine[:3, 2] = normal * (records[0].thickness or 1.0)
    return SeriesGeometry(order=order, positions=along, affine=affine, issues=issues, ipp=positions)


def _fallback_geometry(records, spacing, issues, n_placed: int) -> SeriesGeometry:
    """Too few usable ImagePositionPatient/ImageOrientationPatient: InstanceNumber order, axial."""
    order = np.argsort([r.instance_number or 0 for r in records], kind="stable")
    thickness = records[0].thickness or 1.0
    affine = np.diag([spacing[1], spacing[0], thickness, 1.0])
    issues.append(
        Issue(
            "missing_geometry",
            (f"only {n_placed} of {len(records)} images have" if n_placed else "no")
            + " usable ImagePositionPatient/ImageOrientationPatient: slices ordered by "
            "InstanceNumber, axial orientation and the slice thickness as spacing are assumed",
        )
    )
    positions = np.arange(len(records)) * thickness
    return SeriesGeometry(order=order, positions=positions, affine=affine, issues=issues)


def _spacing_issues(steps: np.ndarray) -> list[Issue]:
    """Duplicates, gaps and uneven spacing between consecutive sorted slices."""
    issues: list[Issue] = []
    dup = np.flatnonzero(np.abs(steps) < DUPLICATE_MM)
    if dup.size:
        pairs = ", ".join(f"{k}/{k + 1}" for k in dup[:10])
        issues.append(
            Issue(
                "duplicate_positions",
                f"{dup.size} pair(s) of slices share a position (slices {pairs}); the series may "
                "hold several acquisitions",
                tuple(int(k) for k in dup),
            )
        )
    real = steps[np.abs(steps) >= DUPLICATE_MM]
    if real.size == 0:
        return issues
    median = float(np.median(real))
    off = np.flatnonzero(
        (np.abs(steps - median) > SPACING_RTOL * median)
        & (np.abs(steps - median) > SPACING_ATOL_MM)
        & (np.abs(steps) >= DUPLICATE_MM)
    )
    # a gap is one large step (missing slices); a run of large steps is a change of spacing
    large = set(int(k) for k in off if steps[k] > GAP_FACTOR * median)
    gaps = sorted(k for k in large if k - 1 not in large and k + 1 not in large)
    uneven = [k for k in off if k not in gaps]
    if gaps:
        where = "; ".join(f"{steps[k]:.2f} mm between slices {k} and {k + 1}" for k in gaps[:10])
        issues.append(
            Issue(
                "slice_gap",
                f"gap in the slices (expected {median:.2f} mm): {where}",
                tuple(int(k) for k in gaps),
            )
        )
    if uneven:
        where = "; ".join(f"{steps[k]:.2f} mm between slices {k} and {k + 1}" for k in uneven[:10])
        more = f" and {len(uneven) - 10} more" if len(uneven) > 10 else ""
        issues.append(
            Issue(
                "uneven_spacing",
                f"uneven slice spacing (median {median:.2f} mm): {where}{more}",
                tuple(int(k) for k in uneven),
            )
        )
    return issues


def _tilt_issues(steps: np.ndarray, normal: np.ndarray, records: list[SliceRecord]) -> list[Issue]:
    """Gantry tilt: the slices are stacked along a direction other than their normal."""
    moving = steps[np.linalg.norm(steps, axis=1) > DUPLICATE_MM]
    angle = 0.0
    if len(moving):
        direction = np.median(moving, axis=0)
        cos = abs(direction @ normal) / np.linalg.norm(direction)
        angle = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    tag = records[0].dataset.get("GantryDetectorTilt")
    try:
        tag_angle = abs(float(tag)) if tag not in (None, "") else 0.0
    except (TypeError, ValueError):
        tag_angle = 0.0
    if angle > TILT_DEGREES:
        return [Issue("gantry_tilt", f"gantry tilt of {angle:.1f} degrees: the slice positions are sheared")]
    if tag_angle > TILT_DEGREES:
        return [
            Issue(
                "gantry_tilt",
                f"gantry tilt of {tag_angle:.1f} degrees in the header, but the slice positions are "
                "not sheared: nothing to correct",
            )
        ]
    return []
