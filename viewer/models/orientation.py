"""Which patient direction each face of the 3D view's orientation cube shows.

The 3D view draws the voxels in index space (x = column i, y = row j, z = slice k, scaled by
spacing), so the cube's +x face points where i increases in the patient: ``axis_codes[0]`` of
:attr:`inference.io.Volume.orientation` (``"L"`` for an LPS volume), its -x face the opposite.
"""

from __future__ import annotations

from .planes import OPPOSITE

FACES = ("x+", "x-", "y+", "y-", "z+", "z-")


def cube_face_letters(axis_codes: str = "LPS") -> dict[str, str]:
    """The letter on each face (``"x+"`` ... ``"z-"``) for a volume whose (i, j, k) increase
    toward ``axis_codes`` (e.g. ``"LPS"``: x+ L, x- R, y+ P, y- A, z+ S, z- I)."""
    codes = axis_codes.upper()
    if len(codes) != 3 or any(c not in OPPOSITE for c in codes) or len({frozenset((c, OPPOSITE[c])) for c in codes}) < 3:
        raise ValueError(f"axis codes {axis_codes!r} do not name three patient axes (e.g. 'LPS')")
    letters: dict[str, str] = {}
    for axis, code in zip("xyz", codes):
        letters[f"{axis}+"] = code
        letters[f"{axis}-"] = OPPOSITE[code]
    return letters


def face_toward(direction_to_camera: tuple[float, float, float]) -> str:
    """The cube face (``"x+"`` ... ``"z-"``) that faces a camera lying in ``direction_to_camera``
    from the focal point (the axis it lies most along)."""
    axis = max(range(3), key=lambda a: abs(direction_to_camera[a]))
    return f"{'xyz'[axis]}{'+' if direction_to_camera[axis] > 0 else '-'}"
