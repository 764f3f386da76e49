"""Images of one series that lie at the same position: one kept when identical, else refused.

As dcm2niix does, an image stored twice (the same pixels at the same place: a copied file, a
re-sent instance) is loaded once and the user told. Two *different* images at one position
mean the series mixes acquisitions (two phases, reconstructions or repeats under one
SeriesInstanceUID); stacking them would put every later slice one step off, and choosing one
would hide the other, so the series is refused with a sentence saying which images clash.
"""

from __future__ import annotations

import numpy as np

from . import errors as E
from .dicom_geometry import DUPLICATE_MM, SeriesGeometry, analyse_geometry
from .dicom_scan import SliceRecord
from .errors import CTLoadError, LoadWarning


def drop_identical_duplicates(
    voxels: np.ndarray, ordered: list[SliceRecord], geometry: SeriesGeometry
) -> tuple[np.ndarray, list[SliceRecord], SeriesGeometry, list[LoadWarning]]:
    """The decoded, sorted slices with repeated images removed, their geometry redone.

    Raises:
        CTLoadError: two different images lie at one position.
    """
    if geometry.ipp is None or not any(i.code == E.DUPLICATE_POSITIONS for i in geometry.issues):
        return voxels, ordered, geometry, []
    same_place = np.abs(np.diff(geometry.positions)) < DUPLICATE_MM
    keep = [0]
    for k in range(1, len(ordered)):
        if not same_place[k - 1]:
            keep.append(k)
        elif not np.array_equal(voxels[k], voxels[keep[-1]]):
            raise CTLoadError(_clash(ordered[keep[-1]], ordered[k], geometry.positions[k]))
    kept = [ordered[k] for k in keep]
    redone = analyse_geometry(kept)
    # what the first analysis found about images left out for lack of a position still holds
    redone.issues = [i for i in geometry.issues if i.code == E.MISSING_GEOMETRY and i not in redone.issues] + redone.issues
    n = len(ordered) - len(kept)
    note = LoadWarning(
        E.DUPLICATE_POSITIONS,
        f"{n} image{'s' if n > 1 else ''} of this series {'are' if n > 1 else 'is'} stored twice (the same "
        "pixels at the same position) and each was loaded once",
    )
    return voxels[keep][redone.order], [kept[k] for k in redone.order], redone, [note]


def _clash(first: SliceRecord, second: SliceRecord, position_mm: float) -> str:
    """One sentence naming the two images that share a position."""
    def name(rec: SliceRecord) -> str:
        if rec.n_frames > 1:
            return f"frame {rec.frame + 1} of {rec.path.name}"
        return f"image {rec.instance_number}" if rec.instance_number is not None else f"file {rec.path.name}"

    return (
        f"{name(first)} and {name(second)} of this series lie at the same position ({position_mm:.2f} mm) but "
        "hold different images: the series mixes several acquisitions (phases, reconstructions or repeats) "
        "and cannot be shown as one volume; export each acquisition as its own series"
    )
