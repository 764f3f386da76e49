"""A first alignment of two scans of one patient that share no frame of reference (two visits):
the head-foot shift at which their slice-by-slice anatomy profiles agree best.

Each axial slice gives two areas in mm²: the body (HU above -500) and the low-density tissue
(-950 to -500 HU: aerated lung and airways; the air around the patient is below it). Along the patient's head-foot axis these
profiles rise and fall with the anatomy (lung apices, diaphragm, liver dome), whatever the
table position, and in mm² they do not depend on the pixel size. Both profiles are sampled
every millimetre; the shift is the one where their Pearson correlation over the overlap is
highest (over at least 50 mm and half the shorter scan: a short overlap matches by chance).
Left-right and front-back, the centroids of the lungs (of the body where there is little lung)
over the matched range are put on top of each other. When one field of view lies within the
other (a cropped reconstruction, one scanner's isocentre), both profiles count only the part
both cover, so a cropped field does not change the anatomy's profile. A weak best correlation
(below :data:`MIN_CORRELATION`) is not trusted: the caller falls back to the centres and says so.

It is a translation only (no rotation, no breathing): a first guess the reader checks, as the
viewer says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from inference.io import Volume

BODY_HU = -500.0
LOW_DENSITY_HU = (-950.0, -500.0)
STEP_MM = 1.0
MIN_OVERLAP_MM = 50.0
MIN_CORRELATION = 0.9
# every 4th row and column: on A0001 the areas change by 0.5 % (median slice; 3 % at most where
# over 1000 mm²) and the whole profile by 0.4 %, for a sixteenth of the voxels read
IN_PLANE_STRIDE = 4


@dataclass(frozen=True)
class AnatomyMatch:
    """The offset (LPS mm, prior = current + offset) and how well the profiles agreed there."""

    offset_mm: tuple[float, float, float]
    correlation: float
    overlap_mm: float


@dataclass(frozen=True)
class Profile:
    """A scan's slices sampled every :data:`STEP_MM` from ``z0`` (patient z, mm) upwards: per
    sample the body's and the low-density tissue's areas (mm², the first two columns, the
    profile matched) and the LPS x and y sums over each (mm³: areas times centroids, for the
    in-plane centroids over any range of samples)."""

    z0: float
    samples: np.ndarray  # (n, 6): body area, low area, body x sum, body y sum, low x sum, low y sum

    @property
    def areas(self) -> np.ndarray:
        return self.samples[:, :2]

    def centroid_xy(self, lo: int, hi: int) -> tuple[float, float] | None:
        """The LPS (x, y) centroid over samples ``lo:hi``: the lungs' (they lie inside the body
        and the table has none), else the body's when the low-density area is small there."""
        total = self.samples[lo:hi].sum(axis=0)
        area, x, y = (total[1], total[4], total[5]) if total[1] >= 0.1 * total[0] else (total[0], total[2], total[3])
        return None if area <= 0 else (float(x / area), float(y / area))


def is_axial_stack(volume: Volume) -> bool:
    """True when the slices are stacked along the patient's head-foot axis (the profile is a
    function of patient z); a tilted gantry's few degrees still are."""
    k = volume.affine[:3, 2]
    return bool(np.linalg.norm(k) > 0 and abs(k[2]) / np.linalg.norm(k) > 0.95)


Box = tuple[float, float, float, float]  # x from, x to, y from, y to (LPS mm)


def in_plane_box(volume: Volume) -> Box:
    """The LPS x and y range the scan's pixel centres cover (its middle slice)."""
    n_k, n_j, n_i = volume.shape
    corners = np.array([[i, j, (n_k - 1) / 2.0, 1.0] for i in (0, n_i - 1) for j in (0, n_j - 1)])
    xy = (volume.affine @ corners.T)[:2]
    return float(xy[0].min()), float(xy[0].max()), float(xy[1].min()), float(xy[1].max())


def common_box(a: Box, b: Box) -> Box | None:
    """Where the two fields of view overlap, when the smaller lies at least 80 % inside the other
    (their coordinates then say the same place: one scanner's isocentre, a cropped reconstruction);
    None when they do not (the profiles then use each whole field of view)."""
    box = (max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3]))
    area = max(box[1] - box[0], 0.0) * max(box[3] - box[2], 0.0)
    smaller = min((a[1] - a[0]) * (a[3] - a[2]), (b[1] - b[0]) * (b[3] - b[2]))
    return box if smaller > 0 and area >= 0.8 * smaller else None


def _inside(volume: Volume, box: Box | None, stride: int) -> np.ndarray | None:
    """(k, j, i) booleans on the strided grid: the pixels whose LPS x, y lie in ``box``."""
    if box is None:
        return None
    n_k, n_j, n_i = volume.shape
    a = volume.affine
    i = np.arange(0, n_i, stride)[None, None, :]
    j = np.arange(0, n_j, stride)[None, :, None]
    k = np.arange(n_k)[:, None, None]
    x = a[0, 0] * i + a[0, 1] * j + a[0, 2] * k + a[0, 3]
    y = a[1, 0] * i + a[1, 1] * j + a[1, 2] * k + a[1, 3]
    return (x >= box[0]) & (x <= box[1]) & (y >= box[2]) & (y <= box[3])


def _per_slice(mask: np.ndarray, affine: np.ndarray, stride: int, pixel_mm2: float) -> np.ndarray:
    """(n, 3): the mask's area, and its LPS x and y sums, slice by slice."""
    n_k, n_j, n_i = mask.shape
    count = mask.sum(axis=(1, 2)).astype(float)
    sum_i = (mask.sum(axis=1) * (np.arange(n_i) * stride)).sum(axis=1)
    sum_j = (mask.sum(axis=2) * (np.arange(n_j) * stride)).sum(axis=1)
    k = np.arange(n_k)
    x = affine[0, 0] * sum_i + affine[0, 1] * sum_j + (affine[0, 2] * k + affine[0, 3]) * count
    y = affine[1, 0] * sum_i + affine[1, 1] * sum_j + (affine[1, 2] * k + affine[1, 3]) * count
    return np.stack([count, x, y], axis=1) * pixel_mm2


def profile(volume: Volume, box: Box | None = None) -> Profile | None:
    """The scan's :class:`Profile` (within ``box``, the LPS x, y range both scans cover, when
    given); None for a scan that is not an axial stack of two slices or more."""
    if volume.shape[0] < 2 or not is_axial_stack(volume):
        return None
    s = IN_PLANE_STRIDE
    voxels = volume.voxels[:, ::s, ::s]
    pixel_mm2 = float(np.prod(np.linalg.norm(volume.affine[:3, :2], axis=0))) * s * s
    # the air around the patient (-1000 HU) lies below the low-density range: only the lungs and airways count
    inside = _inside(volume, box, s)
    body_mask = voxels > BODY_HU
    low_mask = (voxels > LOW_DENSITY_HU[0]) & (voxels < LOW_DENSITY_HU[1])
    if inside is not None:
        body_mask &= inside
        low_mask &= inside
    body = _per_slice(body_mask, volume.affine, s, pixel_mm2)
    low = _per_slice(low_mask, volume.affine, s, pixel_mm2)
    per_slice = np.column_stack([body[:, 0], low[:, 0], body[:, 1], body[:, 2], low[:, 1], low[:, 2]])
    z = volume.affine[2, 2] * np.arange(volume.shape[0]) + volume.affine[2, 3]
    order = np.argsort(z)
    z, per_slice = z[order], per_slice[order]
    grid = np.arange(z[0], z[-1] + 1e-6, STEP_MM)
    samples = np.stack([np.interp(grid, z, per_slice[:, c]) for c in range(per_slice.shape[1])], axis=1)
    return Profile(float(grid[0]), samples)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two (n, 2) profiles, both channels together, each channel
    standardised on its own (so the body's larger areas do not drown the lungs')."""
    total = 0.0
    for c in range(a.shape[1]):
        x, y = a[:, c] - a[:, c].mean(), b[:, c] - b[:, c].mean()
        norm = float(np.sqrt((x * x).sum() * (y * y).sum()))
        total += float((x * y).sum()) / norm if norm > 0 else 0.0
    return total / a.shape[1]


def match_anatomy(current: Volume, prior: Volume) -> AnatomyMatch | None:
    """The offset at which the two scans' profiles agree best, or None when either is not an axial
    stack, they cannot overlap by :data:`MIN_OVERLAP_MM` and half the shorter scan, or the best
    agreement is below :data:`MIN_CORRELATION`."""
    if not (is_axial_stack(current) and is_axial_stack(prior)):
        return None
    box = common_box(in_plane_box(current), in_plane_box(prior))  # the same field of view in both
    cur, pri = profile(current, box), profile(prior, box)
    if cur is None or pri is None:
        return None
    n_c, n_p = len(cur.areas), len(pri.areas)
    # a short overlap matches something by chance: ask for half the shorter scan at least
    need = max(int(round(MIN_OVERLAP_MM / STEP_MM)), min(n_c, n_p) // 2)
    best: tuple[float, int, int, int] | None = None
    # shift: current sample i lies where prior sample i - shift is
    for shift in range(-(n_p - need), n_c - need + 1):
        lo, hi = max(0, shift), min(n_c, n_p + shift)
        if hi - lo < need:
            continue
        r = _correlation(cur.areas[lo:hi], pri.areas[lo - shift:hi - shift])
        if best is None or r > best[0]:
            best = (r, shift, lo, hi)
    if best is None or best[0] < MIN_CORRELATION:
        return None
    r, shift, lo, hi = best
    dz = (pri.z0 - shift * STEP_MM) - cur.z0  # prior z of the current scan's first sample, minus its own z
    dx, dy = _in_plane_shift(current, prior, cur, pri, (lo, hi, shift), box)
    return AnatomyMatch((round(dx, 3), round(dy, 3), round(dz, 3)), round(r, 4), (hi - lo) * STEP_MM)


def _in_plane_shift(current: Volume, prior: Volume, cur: Profile, pri: Profile, matched: tuple[int, int, int],
                    box: Box | None) -> tuple[float, float]:
    """The x, y shift between the centroids over the matched samples ``lo:hi`` (prior: shifted by
    ``shift``). With a common field of view, each scan counts the same anatomy's part of it: the
    box moves with the shift found, three times (a shift the box first cut unevenly is then
    measured on an even cut)."""
    lo, hi, shift = matched
    here, there = cur.centroid_xy(lo, hi), pri.centroid_xy(lo - shift, hi - shift)
    if here is None or there is None:
        return 0.0, 0.0
    dx, dy = there[0] - here[0], there[1] - here[1]
    own_c, own_p = in_plane_box(current), in_plane_box(prior)
    for _ in range(3 if box is not None else 0):
        moved = (own_p[0] - dx, own_p[1] - dx, own_p[2] - dy, own_p[3] - dy)  # the prior's box, in current coordinates
        common = common_box(own_c, moved)
        if common is None:
            break
        c, p = profile(current, common), profile(prior, (common[0] + dx, common[1] + dx, common[2] + dy, common[3] + dy))
        here, there = c.centroid_xy(lo, hi), p.centroid_xy(lo - shift, hi - shift)  # type: ignore[union-attr]
        if here is None or there is None:
            break
        dx, dy = there[0] - here[0], there[1] - here[1]
    return dx, dy
