"""The one error type and the warning record of CT loading.

Every unreadable input raises :class:`CTLoadError` with a sentence a user can act on;
every problem the loader can live with becomes a :class:`LoadWarning` on the volume, shown
to the user and never silently "fixed".
"""

from __future__ import annotations

from dataclasses import dataclass, field


class CTLoadError(Exception):
    """Input that cannot be opened as a CT volume; ``str(err)`` is a message for the user."""


@dataclass(frozen=True)
class LoadWarning:
    """A problem found while loading that the reader must know about.

    ``code`` is stable (for tests and filtering), ``message`` is for people, ``slices`` names
    the (sorted, 0-based) slice indices concerned when the problem has a place.
    """

    code: str
    message: str
    slices: tuple[int, ...] = field(default=())

    def __str__(self) -> str:
        return self.message


# Stable warning codes.
UNEVEN_SPACING = "uneven_spacing"
SLICE_GAP = "slice_gap"
GANTRY_TILT = "gantry_tilt"
DUPLICATE_POSITIONS = "duplicate_positions"
MIXED_ORIENTATIONS = "mixed_orientations"
MIXED_SHAPES = "mixed_shapes"
NOT_CT = "not_ct"
MISSING_PIXEL_DATA = "missing_pixel_data"
IMPLAUSIBLE_HU = "implausible_hu"
SKIPPED_FILES = "skipped_files"
MISSING_GEOMETRY = "missing_geometry"
NON_FINITE = "non_finite"
OTHER_SERIES = "other_series"
AS_STORED = "as_stored"
MODEL_ARRAY = "model_array"
