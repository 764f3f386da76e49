"""Where world points and stored slices fall in a loaded volume: the inverses of
``Volume.index_to_world`` and ``Volume.grid_to_original``, which the geometry tests check against
(the product only ever maps the other way)."""

from __future__ import annotations

import numpy as np

from inference.io import Volume


def world_to_index(volume: Volume, point_lps) -> np.ndarray:
    """Fractional array index ``(k, j, i)`` of a world LPS point (mm)."""
    ijk = (np.linalg.inv(volume.affine) @ np.append(np.asarray(point_lps, float), 1.0))[:3]
    return ijk[::-1]


def grid_slices_of_originals(volume: Volume) -> np.ndarray:
    """Fractional slice index in ``voxels`` of each original (stored) slice, in order (the grid is
    regular: a straight line, also where an original slice lies beyond its last slice)."""
    positions = volume.slice_positions
    step = (positions[-1] - positions[0]) / (len(positions) - 1)
    return (volume.original_positions - positions[0]) / step
