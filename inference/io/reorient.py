"""Lossless reorientation of a volume to the canonical LPS index order.

Only axis permutations and flips (nibabel's orientation transforms), never resampling: every
voxel value is kept, and the affine is updated so each voxel keeps its world position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nibabel import orientations as nio

from .errors import CTLoadError

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
_CANONICAL = np.array([[0, 1], [1, 1], [2, 1]])  # i -> +x (L), j -> +y (P), k -> +z (S)


@dataclass(frozen=True)
class Reorientation:
    """What happened to the slice axis: where the source k axis went and whether it flipped."""

    source_codes: str  # axis codes of the source (i, j, k) in LPS terms, e.g. "LAS"
    k_source_axis: int  # which source axis (0=i, 1=j, 2=k) became the output k axis
    k_flipped: bool
    n_slices: int

    def map_slice(self, k: int) -> int | None:
        """Output slice index of source slice ``k``, or None if the slice axis changed."""
        if self.k_source_axis != 2:
            return None
        return self.n_slices - 1 - k if self.k_flipped else k


def reorient_to_lps(voxels_zyx: np.ndarray, affine_lps: np.ndarray) -> tuple[np.ndarray, np.ndarray, Reorientation]:
    """Reorder ``voxels[k, j, i]`` so that i -> Left, j -> Posterior, k -> Superior.

    Returns the reordered (contiguous) voxels, their affine and a record of the change.
    """
    if not np.all(np.isfinite(affine_lps)) or abs(float(np.linalg.det(affine_lps[:3, :3]))) < 1e-9:
        raise CTLoadError(
            "the image's geometry cannot be used: its orientation and spacing give no 3-D grid "
            "(a zero or non-finite matrix)"
        )
    ornt = nio.io_orientation(affine_lps)
    transform = nio.ornt_transform(ornt, _CANONICAL)
    data_ijk = voxels_zyx.transpose(2, 1, 0)
    out = nio.apply_orientation(data_ijk, transform)
    affine = affine_lps @ nio.inv_ornt_aff(transform, data_ijk.shape)
    # transform[a] = (output axis, flip) for source axis a
    k_source = int(np.flatnonzero(transform[:, 0] == 2)[0])
    info = Reorientation(
        source_codes="".join(nio.ornt2axcodes(ornt, labels=(("R", "L"), ("A", "P"), ("I", "S")))),
        k_source_axis=k_source,
        k_flipped=bool(transform[k_source, 1] < 0),
        n_slices=int(voxels_zyx.shape[0]),
    )
    return np.ascontiguousarray(out.transpose(2, 1, 0)), affine, info


def regular_slice_positions(affine: np.ndarray, n_slices: int) -> np.ndarray:
    """Positions (mm) of slices 0..n-1 along the unit slice direction of a regular grid."""
    k_col = affine[:3, 2]
    unit = k_col / np.linalg.norm(k_col)
    return float(affine[:3, 3] @ unit) + np.arange(n_slices) * float(np.linalg.norm(k_col))
