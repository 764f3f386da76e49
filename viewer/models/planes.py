"""The three slice planes: which array axis each one steps through, how its camera looks,
and the orientation letters at its edges (radiological convention).

VTK world axes here are array index axes scaled by spacing: x = column i, y = row j,
z = slice k. Loaded volumes are LPS-oriented (i -> Left, j -> Posterior, k -> Superior), so:

* axial: looked at from the feet; screen right = +i (patient left), screen down = +j.
* coronal: looked at from the front; screen right = +i, screen up = +k.
* sagittal: looked at from the patient's left; screen right = +j (posterior), screen up = +k.
"""

from __future__ import annotations

from dataclasses import dataclass

OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "S": "I", "I": "S"}


@dataclass(frozen=True)
class Plane:
    """Geometry of one slice view.

    ``axis`` is the VTK axis (0 = x/i, 1 = y/j, 2 = z/k) the view steps through; ``array_axis``
    is the same axis in ``voxels[k, j, i]`` order. ``right``/``up`` are (axis, sign) pairs that
    say which index axis increases toward screen right/up.
    """

    name: str
    axis: int
    direction: tuple[float, float, float]  # direction of projection (camera -> focal point)
    view_up: tuple[float, float, float]
    right: tuple[int, int]
    up: tuple[int, int]

    @property
    def array_axis(self) -> int:
        """Axis of ``voxels[k, j, i]`` this plane steps through."""
        return 2 - self.axis

    def edge_letters(self, axis_codes: str = "LPS") -> dict[str, str]:
        """Orientation letters for the ``left``, ``right``, ``top`` and ``bottom`` edges.

        ``axis_codes`` names the patient direction each of (i, j, k) increases toward
        (:attr:`inference.io.Volume.orientation`).
        """

        def toward(axis: int, sign: int) -> str:
            letter = axis_codes[axis]
            return letter if sign > 0 else OPPOSITE[letter]

        return {
            "right": toward(*self.right),
            "left": toward(self.right[0], -self.right[1]),
            "top": toward(*self.up),
            "bottom": toward(self.up[0], -self.up[1]),
        }


AXIAL = Plane("axial", 2, (0.0, 0.0, 1.0), (0.0, -1.0, 0.0), right=(0, 1), up=(1, -1))
CORONAL = Plane("coronal", 1, (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), right=(0, 1), up=(2, 1))
SAGITTAL = Plane("sagittal", 0, (-1.0, 0.0, 0.0), (0.0, 0.0, 1.0), right=(1, 1), up=(2, 1))
