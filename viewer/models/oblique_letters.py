"""Orientation letters at the edges of a turned (oblique) slice view, as OHIF and Weasis write them.

Each edge names the patient side(s) it points to: the screen direction of the edge, turned by the
oblique frame's rotation (:mod:`viewer.models.oblique`), taken from VTK world mm to voxel steps
(divided by the spacing) and through the scan's affine to LPS. The largest LPS component gives
the first letter; another component that is large too adds its letter after it (``"LA"``: mostly
left, partly anterior). On the plain planes the view keeps :meth:`Plane.edge_letters` (the axis
codes of the file), so the letters there are what they always were.

Numpy only (no Qt, no VTK).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .oblique import Oblique
from .planes import Plane

POSITIVE_LPS, NEGATIVE_LPS = "LPS", "RAI"  # the side each LPS axis points to, and its opposite
# A component at least this share of the (unit) direction names its side too: a turn of about 15
# degrees or more. Smaller ones (and rounding noise) leave the one letter of the plain plane.
FURTHER_LETTER_SHARE = 0.25


def direction_letters(lps_direction: Sequence[float]) -> str:
    """The patient sides a direction (LPS) points to, the largest share first: ``(0, 0, -1)`` is
    ``"I"``, ``(0.87, -0.5, 0)`` is ``"LA"``. Raises ValueError for a zero direction."""
    v = np.asarray(lps_direction, float)
    norm = float(np.linalg.norm(v))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError(f"a direction is needed to name its side, got {tuple(v.tolist())}")
    v = v / norm
    order = np.argsort(-np.abs(v), kind="stable")
    letters = [(POSITIVE_LPS if v[a] > 0 else NEGATIVE_LPS)[a] for n, a in enumerate(order)
               if n == 0 or abs(v[a]) >= FURTHER_LETTER_SHARE]
    return "".join(letters)


def turned_edge_letters(plane: Plane, rotation: np.ndarray, affine: np.ndarray,
                        spacing: Sequence[float]) -> dict[str, str]:
    """The letters of ``plane``'s ``left``, ``right``, ``top`` and ``bottom`` edges while the views
    are turned by ``rotation`` (3x3, VTK world axes); ``affine`` maps voxel (i, j, k, 1) to LPS mm
    and ``spacing`` is the VTK image's voxel size (dx, dy, dz)."""
    to_lps = np.asarray(affine, float)[:3, :3] / np.asarray(spacing, float)  # VTK world mm -> LPS mm

    def toward(axis: int, sign: int) -> str:
        screen = np.zeros(3)
        screen[axis] = sign
        return direction_letters(to_lps @ (np.asarray(rotation, float) @ screen))

    (right_axis, right_sign), (up_axis, up_sign) = plane.right, plane.up
    return {"right": toward(right_axis, right_sign), "left": toward(right_axis, -right_sign),
            "top": toward(up_axis, up_sign), "bottom": toward(up_axis, -up_sign)}


def edge_letters_for(plane: Plane, oblique: Oblique, axis_codes: str, affine: np.ndarray,
                     spacing: Sequence[float]) -> dict[str, str]:
    """What a slice view writes at its edges: the plain plane's letters (from the file's
    ``axis_codes``) while ``oblique`` is not turned, the turned plane's otherwise."""
    if not oblique.active:
        return plane.edge_letters(axis_codes)
    return turned_edge_letters(plane, oblique.rotation, affine, spacing)
