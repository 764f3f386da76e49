"""The scan in words for a transcript and a report: its size, spacing and the metadata fields
that describe the acquisition, never the patient (no names, IDs, dates, institutions or paths)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inference.io import Volume

# Volume.metadata fields that describe the acquisition, not the patient.
SAFE_FIELDS = ("format", "modality", "study_description", "series_description", "body_part", "manufacturer",
               "model_name", "convolution_kernel", "kvp", "slice_thickness_mm", "contrast_agent",
               "patient_position", "n_images")


def scan_description(volume: Volume) -> dict[str, str]:
    """Non-identifying facts about the scan: shape, spacing and the safe metadata fields."""
    nz, ny, nx = volume.shape
    dz, dy, dx = volume.spacing_zyx
    facts = {"size (x × y × slices)": f"{nx} × {ny} × {nz}",
             "spacing (x, y, z)": f"{dx:.2f} × {dy:.2f} × {dz:.2f} mm"}
    meta = volume.metadata or {}
    for key in SAFE_FIELDS:
        value = meta.get(key)
        if value not in (None, ""):
            facts[key.replace("_", " ")] = str(value)
    return facts


def scan_summary(volume: Volume) -> str:
    """The scan in one line for a transcript: size, spacing and series description (no names,
    no paths)."""
    facts = scan_description(volume)
    line = f"{facts['size (x × y × slices)']}, {facts['spacing (x, y, z)']}"
    desc = facts.get("series description")
    return f"{line}, {desc}" if desc else line
