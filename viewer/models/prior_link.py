"""A prior scan beside the current one: which prior voxel shows the place in the patient that the
current crosshair is on, and back.

Two scans share patient coordinates when they share a DICOM frame of reference
(FrameOfReferenceUID): two series of one study (a lung and a soft-tissue kernel, before and after
contrast), or scans a workstation registered. Then one LPS point is one place in the patient and
the link is the two affines alone. Scans of two visits each have their own frame: the table and
the patient moved, so equal coordinates are not equal anatomy. They start aligned by their
anatomy (:mod:`viewer.models.anatomy_alignment`: the head-foot shift at which their slice
profiles agree, the lungs' centroids across), else by their centres, and the reader checks:
unlink, scroll each to the same anatomy, link again (the offset is then what the reader set,
as with OHIF's and Weasis' manual synchronisation), or give the offset in mm
(``ctchat view --prior-offset``).

The link is a translation only: no rotation or deformation is estimated, and the app says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .anatomy_alignment import match_anatomy
from .events import Event

if TYPE_CHECKING:
    from inference.io import Volume

FRAME = "frame"  # one frame of reference: the scanner's own coordinates agree
ANATOMY = "anatomy"  # different frames: slice profiles matched (a first guess)
CENTRES = "centres"  # different frames, no profile match: centres put on top of each other
READER = "reader"  # an offset the reader set (by linking at matching anatomy, or in mm)


@dataclass(frozen=True)
class PriorSummary:
    """The prior a scan was read beside, for the report: in words, and the reader's measurements
    on it (:func:`~viewer.models.measurement_records.sr_items` of the prior)."""

    words: str
    measurements: tuple[dict, ...] = ()


def frame_of_reference(volume: Volume) -> str:
    """The scan's DICOM FrameOfReferenceUID ("" when it has none, e.g. a NIfTI file)."""
    return str(volume.metadata.get("frame_of_reference_uid") or "")


def centre_lps(volume: Volume) -> np.ndarray:
    """The centre of the scan's voxel grid in LPS mm."""
    k, j, i = ((n - 1) / 2.0 for n in volume.shape)
    return (volume.affine @ np.array([i, j, k, 1.0]))[:3]


@dataclass(frozen=True)
class Alignment:
    """How the prior lines up with the current scan: ``prior LPS = current LPS + offset_mm``,
    and where that offset came from (:data:`FRAME`, :data:`ANATOMY`, :data:`CENTRES` or :data:`READER`)."""

    offset_mm: tuple[float, float, float]
    how: str
    correlation: float | None = None  # how well the anatomy matched (ANATOMY only)

    def flipped(self) -> Alignment:
        """The same alignment seen from the prior (the two scans swapped): the offset negated."""
        return Alignment(tuple(-v for v in self.offset_mm), self.how, self.correlation)  # type: ignore[arg-type]

    def words(self) -> str:
        """One line for the prior view and the status bar."""
        if self.how == FRAME:
            return "same frame of reference: linked by patient position"
        shift = offset_words(self.offset_mm)
        if self.how == ANATOMY:
            return (f"own frame of reference: aligned by anatomy, profiles r = {self.correlation:.2f} ({shift}); "
                    "check, and link at matching anatomy if needed")
        if self.how == CENTRES:
            return f"own frame of reference: aligned by centres ({shift}); link at matching anatomy"
        return f"linked by you ({shift})"


    def short(self) -> list[str]:
        """The same in short lines, for the corner of the prior view."""
        if self.how == FRAME:
            return ["linked by frame of reference"]
        first = {CENTRES: "aligned by centres: check",
                 ANATOMY: "aligned by anatomy: check"}.get(self.how, "linked by you")
        return [first, short_offset(self.offset_mm)]


def _sides(offset_mm: Sequence[float], names: Sequence[tuple[str, str]]) -> list[tuple[float, str]]:
    """The components of ``offset_mm`` (LPS) of 0.05 mm or more, largest first, each with the
    patient side it points to (``names``: the positive and negative side per axis)."""
    kept = [(abs(v), pos if v > 0 else neg) for v, (pos, neg) in zip(offset_mm, names) if abs(v) >= 0.05]
    return sorted(kept, key=lambda p: -p[0])


def offset_words(offset_mm: Sequence[float]) -> str:
    """``offset_mm`` (LPS) in a reader's words, e.g. ``prior 12.5 mm superior, 3.0 mm left``
    (the components under 0.05 mm left out; ``no offset`` when all are)."""
    parts = _sides(offset_mm, (("left", "right"), ("posterior", "anterior"), ("superior", "inferior")))
    return "prior " + ", ".join(f"{v:.1f} mm {side}" for v, side in parts) if parts else "no offset"


def short_offset(offset_mm: Sequence[float]) -> str:
    """``offset_mm`` in a corner's few letters, e.g. ``prior S 12.5 L 3.0 mm`` (LPS signs as patient sides)."""
    parts = _sides(offset_mm, (("L", "R"), ("P", "A"), ("S", "I")))
    return "prior " + " ".join(f"{side} {v:.1f}" for v, side in parts) + " mm" if parts else "no offset"


def parse_offset(text: str) -> tuple[float, float, float]:
    """``--prior-offset``: ``Z`` (mm along the patient's head-foot axis, superior positive) or
    ``X,Y,Z`` (LPS mm: left, posterior, superior positive). Raises ValueError in one sentence."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        values = []
    if len(values) == 1:
        return (0.0, 0.0, values[0])
    if len(values) == 3 and all(np.isfinite(values)):
        return (values[0], values[1], values[2])
    raise ValueError(f"{text!r} is not an offset: give Z or X,Y,Z in mm (LPS: left, posterior, superior positive)")


def initial_alignment(current: Volume, prior: Volume) -> Alignment:
    """One frame of reference: no offset. Otherwise (or when either scan has none): by anatomy
    when the slice profiles match, else centres on top of each other, for the reader to check."""
    frame = frame_of_reference(current)
    if frame and frame == frame_of_reference(prior):
        return Alignment((0.0, 0.0, 0.0), FRAME)
    match = match_anatomy(current, prior)
    if match is not None:
        return Alignment(match.offset_mm, ANATOMY, match.correlation)
    offset = centre_lps(prior) - centre_lps(current)
    return Alignment(tuple(round(float(v), 3) for v in offset), CENTRES)  # type: ignore[arg-type]


class PriorLink:
    """Maps crosshair positions ``(k, j, i)`` of the current scan to the prior's and back through
    their affines (voxel -> LPS mm) and :attr:`alignment`.

    Events: ``changed(alignment)`` when the alignment changes; ``linked_changed(linked)`` when
    scrolling together is switched on or off.
    """

    def __init__(self, current_affine: np.ndarray, current_shape: Sequence[int], prior_affine: np.ndarray,
                 prior_shape: Sequence[int], alignment: Alignment) -> None:
        self._current = np.asarray(current_affine, float)
        self._prior = np.asarray(prior_affine, float)
        self._current_inv = np.linalg.inv(self._current)
        self._prior_inv = np.linalg.inv(self._prior)
        self.current_shape = tuple(int(n) for n in current_shape)
        self.prior_shape = tuple(int(n) for n in prior_shape)
        self.alignment = alignment
        self.initial = alignment  # what "Align by frame of reference" goes back to
        self.linked = True
        self.changed = Event()
        self.linked_changed = Event()

    @classmethod
    def between(cls, current: Volume, prior: Volume, initial: Alignment | None = None) -> PriorLink:
        """The link of two loaded scans, starting at ``initial`` (None: :func:`initial_alignment`'s)."""
        return cls(current.affine, current.shape, prior.affine, prior.shape,
                   initial or initial_alignment(current, prior))

    def _offset(self) -> np.ndarray:
        return np.asarray(self.alignment.offset_mm, float)

    def prior_point(self, current_kji: Sequence[float]) -> np.ndarray:
        """The prior's continuous voxel index ``(k, j, i)`` of the current voxel ``current_kji``."""
        k, j, i = current_kji
        lps = (self._current @ np.array([i, j, k, 1.0]))[:3] + self._offset()
        i2, j2, k2, _ = self._prior_inv @ np.array([*lps, 1.0])
        return np.array([k2, j2, i2])

    def prior_index(self, current_kji: Sequence[float]) -> tuple[tuple[int, int, int], bool]:
        """The prior voxel nearest to where ``current_kji`` is, clipped to the prior, and whether
        that place lies inside the prior (within half a voxel of its grid)."""
        point = self.prior_point(current_kji)
        edge = 0.5 + 1e-6  # half a voxel, and rounding: a place on a boundary is inside
        inside = all(-edge <= p <= n - 1 + edge for p, n in zip(point, self.prior_shape))
        clipped = tuple(int(min(max(np.rint(p), 0), n - 1)) for p, n in zip(point, self.prior_shape))
        return clipped, inside  # type: ignore[return-value]

    def beyond_mm(self, current_kji: Sequence[float]) -> float:
        """How far (mm, along the prior's slice axis) the place ``current_kji`` lies beyond the
        prior's first or last slice; 0 within them."""
        k = self.prior_point(current_kji)[0]
        n = self.prior_shape[0]
        outside = max(-0.5 - k, k - (n - 0.5), 0.0)
        return float(outside * np.linalg.norm(self._prior[:3, 2]))

    def current_point(self, prior_kji: Sequence[float]) -> np.ndarray:
        """The current scan's continuous voxel index ``(k, j, i)`` of the prior voxel ``prior_kji``."""
        k, j, i = prior_kji
        lps = (self._prior @ np.array([i, j, k, 1.0]))[:3] - self._offset()
        i2, j2, k2, _ = self._current_inv @ np.array([*lps, 1.0])
        return np.array([k2, j2, i2])

    def current_index(self, prior_kji: Sequence[float]) -> tuple[int, int, int]:
        """The current voxel nearest to where the prior voxel ``prior_kji`` is, clipped."""
        return tuple(int(min(max(np.rint(p), 0), n - 1))  # type: ignore[return-value]
                     for p, n in zip(self.current_point(prior_kji), self.current_shape))

    def set_alignment(self, alignment: Alignment) -> None:
        """Use ``alignment`` from now on."""
        if alignment != self.alignment:
            self.alignment = alignment
            self.changed.emit(alignment)

    def link_at(self, current_kji: Sequence[int], prior_kji: Sequence[int]) -> None:
        """The reader says the current voxel and the prior voxel show the same place: the offset
        becomes the distance between them (a reader's alignment)."""
        k, j, i = current_kji
        kp, jp, ip = prior_kji
        here = (self._current @ np.array([i, j, k, 1.0]))[:3]
        there = (self._prior @ np.array([ip, jp, kp, 1.0]))[:3]
        self.set_alignment(Alignment(tuple(round(float(v), 3) for v in there - here), READER))  # type: ignore[arg-type]

    def set_linked(self, linked: bool) -> None:
        """Scroll the two scans together (True) or each on its own (False)."""
        if linked != self.linked:
            self.linked = linked
            self.linked_changed.emit(linked)
