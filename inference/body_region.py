"""The body region a CT shows: from what its header says (body part, study and series
description) and from its image (the share of the body that is lung).

The header decides where it names a region without the lungs (a head is a head however much
air it holds); the image decides where the header names the chest, or nothing (a NIfTI file).
Numpy only: the chat's region check and the viewer's first window both use it.

Example:
    >>> header_regions({"body_part": "BRAIN", "series_description": "STD BRAIN 1MM"})
    {'head'}
    >>> sorted(header_regions({"study_description": "CT CHEST ABDOMEN PELVIS"}))
    ['abdomen', 'chest']
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import numpy as np

from .io.volume import Volume

AIR_HU = -400.0  # below: air or lung
LUNG_MEDIAN_HU = -960.0  # air reaching the edge with a median above this is lung (the room: about -1000)
MIN_LUNG_FRACTION = 0.10  # measured: chest CTs 0.19-0.39, abdomen CTs 0.01-0.05 (tests/test_scope.py)
MIN_FIELD_MM = 100.0  # a smaller field of view cannot show whether the lungs are there
ANALYSIS_WIDTH = 128  # the check runs on a copy at most this many pixels across

HEADER_FIELDS = {"body_part": "body part", "study_description": "study", "series_description": "series"}
# the parts of the words a header uses for each region, found inside words (DICOM
# BodyPartExamined codes run words together: "CHESTABDPELVIS", "HEADNECK"); the chest
# includes what holds the lungs whole
REGION_WORDS = {
    "chest": ("chest", "thora", "lung", "pulmo", "ctpa", "hrct", "heart", "cardi", "coronar", "wholebody",
              "trunk", "torso"),
    "head": ("head", "brain", "skull", "cran", "neuro", "sinus", "orbit"),
    "abdomen": ("abd", "pelvi", "liver", "hepat", "renal", "kidney", "pancrea", "colon", "urogra"),
}
CHEST, IMAGE_OTHER = "chest", "not the chest"  # what the image alone can tell


def header_regions(metadata: Mapping[str, Any]) -> set[str]:
    """The regions of :data:`REGION_WORDS` that the header's body part and descriptions name."""
    words = re.findall(r"[a-z]+", " ".join(str(metadata.get(k) or "") for k in HEADER_FIELDS).lower())
    return {region for region, parts in REGION_WORDS.items() if any(part in w for w in words for part in parts)}


def header_words(metadata: Mapping[str, Any]) -> str:
    """What the header says about the region, for a sentence: "body part BRAIN, series 'STD BRAIN 1MM'"."""
    said = [(label, str(metadata.get(key) or "").strip()) for key, label in HEADER_FIELDS.items()]
    return ", ".join(f"{label} {text}" if label == "body part" else f"{label} '{text}'" for label, text in said if text)


def _border_connected(mask: np.ndarray) -> np.ndarray:
    """The parts of each slice's ``mask`` connected (4-neighbours) to the slice's edge."""
    grown = np.zeros_like(mask)
    grown[:, [0, -1], :] = mask[:, [0, -1], :]
    grown[:, :, [0, -1]] = mask[:, :, [0, -1]]
    while True:
        step = grown.copy()
        step[:, 1:, :] |= grown[:, :-1, :]
        step[:, :-1, :] |= grown[:, 1:, :]
        step[:, :, 1:] |= grown[:, :, :-1]
        step[:, :, :-1] |= grown[:, :, 1:]
        step &= mask
        if np.array_equal(step, grown):
            return grown
        grown = step


def lung_fraction(voxels: np.ndarray) -> float:
    """The share of the scan's non-air-around-it voxels that are lung.

    Per slice, air (< -400 HU) enclosed by tissue is lung (or the airway, or bowel gas: small);
    air reaching the slice's edge is the room around the body, unless its median HU is that
    of lung parenchyma (above -960 HU; the room is about -1000), as in a crop through the chest.
    """
    step = max(1, max(voxels.shape[1:]) // ANALYSIS_WIDTH)
    hu = np.asarray(voxels[:, ::step, ::step], dtype=np.float32)
    air = hu < AIR_HU
    outside = _border_connected(air)
    lung = air & ~outside
    for k in range(hu.shape[0]):
        if outside[k].any() and np.median(hu[k][outside[k]]) > LUNG_MEDIAN_HU:
            lung[k] |= outside[k]
    total = int(lung.sum() + (~air).sum())
    return float(lung.sum()) / total if total else 0.0


def field_of_view_mm(volume: Volume) -> float:
    """The smaller in-plane extent of the scan, in mm."""
    _, dy, dx = volume.spacing_zyx
    return min(volume.shape[1] * dy, volume.shape[2] * dx)


def scan_region(volume: Volume) -> str:
    """The region ``volume`` shows, as far as is cheap to tell (about 0.1 s for 64 x 512 x 512).

    One region the header names alone ("head", "abdomen", "chest"); else, from the image:
    ``"chest"`` where a tenth of the body is lung, ``"not the chest"`` where less is; ``""``
    where nothing can tell (no HU, a field of view under 100 mm, a header naming several
    regions of which the image shows no chest).
    """
    named = header_regions(volume.metadata)
    if len(named) == 1:
        return next(iter(named))
    if not volume.in_hu or field_of_view_mm(volume) < MIN_FIELD_MM:
        return ""
    if lung_fraction(volume.voxels) >= MIN_LUNG_FRACTION:
        return CHEST
    return "" if named else IMAGE_OTHER
