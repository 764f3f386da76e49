"""The scan in view's answers and measurements as :func:`inference.pacs.write_answer_sr` takes them.

* answers: the ``ctchat ask --json`` keys the SR writer reads (question, answer, notes,
  slice_scores with ``top_slices`` counted from 1 on the stored slices);
* measurements: the viewer's plain dicts (:func:`viewer.models.measurement_records.sr_items`, in
  patient LPS mm) turned into (column, row) pixels on their source DICOM slice. An SR places a
  measurement on one source image, so only axial ones go in; the others are counted as left out;
* the source headers: the series of the scan's folder that the viewer loaded (matched by series
  number, description and image count when the folder holds several).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from inference.pacs.source import SourceSeries

    from .chat import ModelInfo
    from .transcript import Entry

ELLIPSE_POINTS = 32  # an ellipse ROI as a polygon of this many corners (the SR has no ellipse in TID 1410 here)
NO_DICOM = ("this scan was not opened from DICOM files ({format}), so it has no DICOM UIDs to refer to: "
            "Save as DICOM needs a scan opened from a DICOM folder or file")


def answer_dicts(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """The finished answers of a transcript (failed and unanswered questions are left out); a
    stopped answer is kept, saying it was stopped."""
    out = []
    for entry in entries:
        answer = entry.answer
        if answer is None or entry.error:
            continue
        text = answer.text.strip() + (" (stopped by the reader before the end)" if answer.cancelled else "")
        out.append({"question": entry.shown, "answer": text.strip(), "notes": list(answer.notes),
                    "slice_scores": answer.scores_record()})
    return out


def bundle_summary(model_info: ModelInfo | None) -> dict[str, Any]:
    """What names the SR's observer device: the model's bundle summary, or the viewer when no
    model answered (an SR of measurements only)."""
    if model_info is None:
        return {"name": "viewer (measurements only)", "version": ""}
    return dict(model_info["summary"])


def has_peak_slices(answers: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any answer names peak slices (a KOS can select them)."""
    return any((a.get("slice_scores") or {}).get("top_slices") for a in answers)


def source_series(path: str | Path, metadata: Mapping[str, Any]) -> SourceSeries:
    """The DICOM headers of the series the viewer loaded from ``path``.

    Raises:
        PacsError: not DICOM (a NIfTI has no UIDs), no DICOM images there, or the series cannot
            be told apart from another in the folder.
    """
    from inference.pacs import PacsError
    from inference.pacs.source import read_source_series

    if metadata.get("format") != "DICOM":
        raise PacsError(NO_DICOM.format(format=metadata.get("format") or "not DICOM"))
    path = Path(path)
    if path.is_file():
        return read_source_series(path)
    return read_source_series(path, _loaded_series_uid(path, metadata))


def _loaded_series_uid(folder: Path, metadata: Mapping[str, Any]) -> str | None:
    """The SeriesInstanceUID of the folder's series that matches the loaded scan (None: the
    folder holds one series)."""
    from inference.io import CTLoadError, read_dicom_folder
    from inference.pacs import PacsError

    try:
        series = read_dicom_folder(folder).series
    except CTLoadError as exc:
        raise PacsError(str(exc)) from None
    uids = {s.uid.split("#")[0] for s in series}
    if len(uids) <= 1:
        return None
    matching = {s.uid.split("#")[0] for s in series
                if s.series_number == metadata.get("series_number")
                and (s.description or "") == (metadata.get("series_description") or "")
                and s.n_slices == metadata.get("n_images")}
    if len(matching) != 1:
        raise PacsError(f"{folder.name} holds {len(uids)} series and the scan in view cannot be told apart "
                        "from the others: open its series' files alone and save again")
    return matching.pop()


@dataclass
class SrMeasurements:
    """Measurements ready for the SR writer, and how many could not go in."""

    items: list[dict[str, Any]] = field(default_factory=list)
    left_out: int = 0

    def left_out_words(self) -> str:
        """'' or a clause on what was left out."""
        if not self.left_out:
            return ""
        s = "s" if self.left_out != 1 else ""
        return (f"{self.left_out} measurement{s} not on an axial slice (or without a value) left out: "
                "an SR places a measurement on one source image")


def sr_measurements(viewer_items: Sequence[Mapping[str, Any]], source: SourceSeries) -> SrMeasurements:
    """The viewer's measurement dicts as the SR writer's (pixel points on their stored slice)."""
    out = SrMeasurements()
    for item in viewer_items:
        converted = _one_measurement(item, source)
        if converted is None:
            out.left_out += 1
        else:
            out.items.append(converted)
    return out


def _one_measurement(item: Mapping[str, Any], source: SourceSeries) -> dict[str, Any] | None:
    slice_number = int(item.get("slice", 0))
    if item.get("plane") != "axial" or not 1 <= slice_number <= len(source.datasets):
        return None
    ds = source.slice(slice_number)
    corners = [pixel_of(ds, p) for p in item["points_lps_mm"]]
    if item["kind"] == "length":
        return {"kind": "length", "value_mm": float(item["value_mm"]), "slice": slice_number,
                "points": [list(c) for c in corners]}
    if item.get("mean_hu") is None:
        return None  # an ROI with no voxel inside measured nothing
    polygon = ellipse_polygon(corners[0], corners[1])
    if polygon is None:
        return None
    return {"kind": "roi", "mean": item["mean_hu"], "std": item.get("std_hu"), "area": item.get("area_mm2"),
            "slice": slice_number, "points": polygon}


def pixel_of(ds: Any, lps_mm: Sequence[float]) -> tuple[float, float]:
    """A patient point (LPS mm) as (column, row) on the DICOM image ``ds`` (its plane's
    projection: the image position is the centre of the first pixel, as DICOM defines it)."""
    origin = np.asarray(ds.ImagePositionPatient, float)
    orientation = np.asarray(ds.ImageOrientationPatient, float)
    row_spacing, column_spacing = (float(x) for x in ds.PixelSpacing)
    offset = np.asarray(lps_mm, float) - origin
    column = float(offset @ orientation[:3]) / column_spacing
    row = float(offset @ orientation[3:]) / row_spacing
    return round(column, 2), round(row, 2)


def ellipse_polygon(corner0: Sequence[float], corner1: Sequence[float]) -> list[list[float]] | None:
    """The ellipse inscribed in the box of two opposite corners, as polygon points (None when flat)."""
    centre = (np.asarray(corner0) + np.asarray(corner1)) / 2.0
    radii = np.abs(np.asarray(corner1) - np.asarray(corner0)) / 2.0
    if (radii <= 0).any():
        return None
    angles = np.linspace(0.0, 2 * np.pi, ELLIPSE_POINTS, endpoint=False)
    return [[round(float(centre[0] + radii[0] * np.cos(a)), 2), round(float(centre[1] + radii[1] * np.sin(a)), 2)]
            for a in angles]
