"""Measurements that stay with their scan: rulers and ellipse ROIs as plain records (kept on disk
per scan by :mod:`viewer.models.measurement_files`, keyed by :func:`inference.io.scan_identity`
as the chat transcripts are), listed, written to CSV and handed out as plain dicts for a report
or a DICOM SR writer.

A record keeps where it was drawn (plane, slice, its two corners in continuous voxel indices
``(i, j, k)``) and what it measured; positions in the patient (LPS mm) and the stored slice
number come from the scan's affine when asked for.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:
    from inference.io import Volume

CSV_FIELDS = ("kind", "value", "unit", "slice", "plane", "points_lps_mm", "sd_hu", "area_mm2")


@dataclass(frozen=True)
class MeasurementRecord:
    """One finished ruler (``kind="ruler"``) or ellipse ROI (``kind="ellipse"``)."""

    kind: str
    plane: str  # axial, coronal or sagittal
    slice_index: int  # along the plane's axis, from 0, on the displayed grid
    ijk0: tuple[float, float, float]  # continuous voxel index (i, j, k) of its first corner
    ijk1: tuple[float, float, float]
    length_mm: float | None = None
    mean_hu: float | None = None
    sd_hu: float | None = None
    area_mm2: float | None = None
    # Drawn on an oblique plane: the turned frame's 3x3 rotation (VTK world axes), row by row, as
    # plain floats (JSON-friendly); None on a plain plane. ijk0/ijk1 are then the ends' true scan
    # positions and slice_index the crosshair's slice along the plane's axis when it was drawn.
    oblique: tuple[float, ...] | None = None

    def words(self) -> str:
        """One line for the measurement list."""
        where = f"{self.plane} {self.slice_index + 1}" + (", oblique" if self.oblique is not None else "")
        if self.kind == "ruler":
            return f"Length {self.length_mm:.1f} mm ({where})"
        if self.mean_hu is None:
            return f"ROI: no voxel inside ({where})"
        return f"ROI mean {self.mean_hu:.1f} HU, SD {self.sd_hu:.1f}, {self.area_mm2:.1f} mm² ({where})"


def stored_slice_number(volume: Volume, record: MeasurementRecord) -> int:
    """The slice a report names, counted from 1: an axial record's stored slice (the file's
    own, also where the scan was resampled); a coronal or sagittal record's row or column."""
    if record.plane != "axial":
        return record.slice_index + 1
    return int(np.rint(volume.grid_to_original(float(record.slice_index)))) + 1


def points_lps_mm(volume: Volume, record: MeasurementRecord) -> list[list[float]]:
    """The record's two corners in patient LPS mm (through the scan's affine)."""
    return [[round(float(x), 2) for x in (volume.affine @ np.array([*ijk, 1.0]))[:3]]
            for ijk in (record.ijk0, record.ijk1)]


def sr_items(records: Sequence[MeasurementRecord], volume: Volume) -> list[dict[str, Any]]:
    """Plain dicts for a DICOM SR writer or a report: ``{kind: "length", value_mm, slice,
    plane, points_lps_mm}`` and ``{kind: "roi", mean_hu, std_hu, area_mm2, slice, plane,
    points_lps_mm}`` (an ROI's points: two opposite corners of the ellipse's box; ``slice``:
    :func:`stored_slice_number`)."""
    items: list[dict[str, Any]] = []
    for r in records:
        # A turned plane's measurement lies on no stored slice: its plane says so (and the SR then
        # references no image for it); its points are the scan's all the same.
        plane = r.plane if r.oblique is None else f"{r.plane} (oblique)"
        common = {"slice": stored_slice_number(volume, r), "plane": plane, "points_lps_mm": points_lps_mm(volume, r)}
        if r.kind == "ruler":
            items.append({"kind": "length", "value_mm": round(float(r.length_mm), 2), **common})
        else:
            items.append({"kind": "roi", "mean_hu": _rounded(r.mean_hu), "std_hu": _rounded(r.sd_hu),
                          "area_mm2": _rounded(r.area_mm2), **common})
    return items


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def csv_text(items: Sequence[dict[str, Any]]) -> str:
    """The :func:`sr_items` as CSV, one row per measurement (:data:`CSV_FIELDS`): a length in mm,
    an ROI's mean in HU with its SD and area beside it; points as ``x y z; x y z`` (LPS mm)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for item in items:
        points = "; ".join(" ".join(f"{x:g}" for x in p) for p in item["points_lps_mm"])
        value, unit = (item["value_mm"], "mm") if item["kind"] == "length" else (item["mean_hu"], "HU")
        writer.writerow([item["kind"], value, unit, item["slice"], item["plane"], points,
                         item.get("std_hu", ""), item.get("area_mm2", "")])
    return out.getvalue()
