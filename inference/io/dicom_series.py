"""Group DICOM image frames into series and assemble one series into a `Volume`."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import errors as E
from .checks import ensure_memory, finite_voxels, hu_warnings
from .dicom_geometry import analyse_geometry
from .dicom_pixels import decode_frames
from .dicom_scan import SliceRecord
from .duplicates import drop_identical_duplicates
from .errors import CTLoadError, LoadWarning
from .regular_grid import assemble_grid
from .volume import Volume

Progress = Callable[[int, int], None]
SAME_ORIENTATION_TOL = 1e-3  # cosines closer than this are one orientation (about 0.06 degrees)


class LoadCancelled(Exception):
    """The user cancelled the load (not an error: nothing is reported)."""


@dataclass
class SeriesGroup:
    """The frames of one loadable series, and the warnings that come from how it was split."""

    key: str
    records: list[SliceRecord]
    warnings: list[LoadWarning]


def group_series(records: list[SliceRecord]) -> list[SeriesGroup]:
    """Group frames by SeriesInstanceUID, splitting a series whose slices differ in
    orientation or size into separately loadable parts (each warned about)."""
    by_uid: OrderedDict[str, list[SliceRecord]] = OrderedDict()
    for rec in records:
        by_uid.setdefault(rec.series_uid, []).append(rec)
    groups: list[SeriesGroup] = []
    for uid, recs in by_uid.items():
        parts = _split_parts(recs)
        if len(parts) == 1:
            groups.append(SeriesGroup(uid, recs, []))
            continue
        ranked = sorted(parts.items(), key=lambda kv: -len(kv[1]))
        n_orient = len({key[0] for key, _ in ranked})
        n_shape = len({key[1:] for key, _ in ranked})
        for n, (_key, part) in enumerate(ranked, start=1):
            warns = []
            if n_orient > 1:
                warns.append(
                    LoadWarning(
                        E.MIXED_ORIENTATIONS,
                        f"this series holds slices in {n_orient} orientations; each is listed as a "
                        f"separate series (this part: {len(part)} of {len(recs)} slices)",
                    )
                )
            if n_shape > 1:
                warns.append(
                    LoadWarning(
                        E.MIXED_SHAPES,
                        f"this series holds images of {n_shape} different sizes; each size is listed "
                        f"as a separate series (this part: {len(part)} of {len(recs)} slices)",
                    )
                )
            groups.append(SeriesGroup(f"{uid}#{n}", part, warns))
    return groups


def _split_parts(recs: list[SliceRecord]) -> OrderedDict[tuple, list[SliceRecord]]:
    """Frames of one series by (orientation, rows, cols). Orientations within SAME_ORIENTATION_TOL
    of a part's first frame join it (writers round cosines differently in the 4th decimal);
    a frame without an orientation joins the largest part of its size (geometry reports it)."""
    parts: OrderedDict[tuple, list[SliceRecord]] = OrderedDict()
    unplaced = []
    for rec in recs:
        if rec.orientation is None:
            unplaced.append(rec)
            continue
        for (orient, rows, cols), members in parts.items():
            same_size = (rows, cols) == (rec.rows, rec.cols)
            if same_size and float(np.max(np.abs(np.array(orient) - rec.orientation))) <= SAME_ORIENTATION_TOL:
                members.append(rec)
                break
        else:
            parts[(tuple(rec.orientation), rec.rows, rec.cols)] = [rec]
    for rec in unplaced:
        sized = [key for key in parts if key[1:] == (rec.rows, rec.cols)]
        key = max(sized, key=lambda k: len(parts[k])) if sized else (None, rec.rows, rec.cols)
        parts.setdefault(key, []).append(rec)
    return parts


def header_problem(group: SeriesGroup) -> str:
    """Why a series cannot load, as far as its headers tell (empty when nothing is known
    against it); no pixel data is read."""
    records = [r for r in group.records if "PixelData" in r.dataset]
    if not records:
        return f"none of its {len(group.records)} images has pixel data"
    try:
        analyse_geometry(records)
    except CTLoadError as exc:
        return str(exc)
    return ""


def assemble_volume(
    group: SeriesGroup,
    source: str,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Volume:
    """Decode, sort, rescale to HU and reorient one series.

    Raises:
        CTLoadError: no frame has pixel data, or the volume cannot fit in memory.
        LoadCancelled: ``cancel`` was set.
    """
    warnings = list(group.warnings)
    records = [r for r in group.records if "PixelData" in r.dataset]
    if len(records) < len(group.records):
        lost = len(group.records) - len(records)
        if not records:
            raise CTLoadError(f"none of the {lost} images of this series has pixel data")
        warnings.append(
            LoadWarning(E.MISSING_PIXEL_DATA, f"{lost} image(s) without pixel data were left out")
        )
    geometry = analyse_geometry(records)
    ordered = [records[i] for i in geometry.order]
    n, rows, cols = len(ordered), ordered[0].rows, ordered[0].cols
    integral = all(float(r.slope).is_integer() and float(r.intercept).is_integer() for r in ordered)
    ensure_memory(n * rows * cols * (2 if integral else 4), f"this series ({n} x {rows} x {cols})")
    voxels, repaired = finite_voxels(_decode_rescaled(ordered, integral, progress, cancel))
    warnings += repaired
    voxels, ordered, geometry, repeated = drop_identical_duplicates(voxels, ordered, geometry)
    warnings += repeated

    # reoriented to LPS; on a regular grid (stored slices kept) when uneven, gapped or gantry-tilted
    grid = assemble_grid(voxels, geometry)
    voxels, affine, positions, change = grid.voxels, grid.affine, grid.positions, grid.change
    warnings += _worded_issues(grid.issues, change.map_slice)

    first = ordered[0]
    metadata = _display_metadata(first, n_images=len(ordered), source_codes=change.source_codes)
    modality = metadata["modality"]
    if modality != "CT":
        warnings.append(
            LoadWarning(
                E.NOT_CT,
                f"modality is {modality or 'not recorded'}, not CT: values may not be Hounsfield "
                "units, and the CT presets and the model may not apply",
            )
        )
    warnings += hu_warnings(voxels, metadata.get("padding_hu"))
    return Volume(voxels, affine, positions, metadata, warnings, source, grid.original)


def _decode_rescaled(
    ordered: list[SliceRecord], integral: bool, progress: Progress | None, cancel: threading.Event | None
) -> np.ndarray:
    """Decode every frame (files in parallel) and rescale each slice with its own slope/intercept.

    When the stored bit depth guarantees every HU fits in int16, the worker threads rescale
    straight into the output (numpy and file reads release the GIL); otherwise slices are
    stored one by one and the volume widens to float32 if a value does not fit.
    """
    n, rows, cols = len(ordered), ordered[0].rows, ordered[0].cols
    direct = integral and all(_int16_guaranteed(r) for r in ordered)
    out = np.empty((n, rows, cols), dtype=np.int16 if integral else np.float32)
    by_file: OrderedDict[str, list[int]] = OrderedDict()
    for k, rec in enumerate(ordered):
        by_file.setdefault(str(rec.path), []).append(k)

    def decode(ks: list[int]) -> np.ndarray | None:
        if cancel is not None and cancel.is_set():
            raise LoadCancelled()
        frames = decode_frames(ordered[ks[0]].dataset, ordered[ks[0]].path)
        if not direct:
            return frames
        for k in ks:
            rec = ordered[k]
            out[k] = frames[rec.frame]  # int16 arithmetic below is exact: the bounds fit
            if rec.slope != 1:
                out[k] *= np.int16(rec.slope)
            if rec.intercept:
                out[k] += np.int16(rec.intercept)
        return None

    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, (ks, frames) in enumerate(zip(by_file.values(), pool.map(decode, by_file.values())), 1):
            if cancel is not None and cancel.is_set():
                raise LoadCancelled()
            if frames is not None:
                for k in ks:
                    rec = ordered[k]
                    out = _store_slice(out, k, frames[rec.frame], rec.slope, rec.intercept)
            if progress is not None:
                progress(done, len(by_file))
    return out


def _int16_guaranteed(rec: SliceRecord) -> bool:
    """Whether every value the stored bits can hold, rescaled, fits in int16 (and stays exact)."""
    ds = rec.dataset
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)))
    if int(ds.get("PixelRepresentation", 0)) == 1:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        lo, hi = 0, (1 << bits) - 1
    s, b = rec.slope, rec.intercept
    if not (float(s).is_integer() and float(b).is_integer()):
        return False
    ends = (lo * s + b, hi * s + b)
    return bits <= 16 and min(ends) >= -32768 and max(ends) <= 32767


def _store_slice(out: np.ndarray, k: int, raw: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Write HU of one slice; widen the whole volume to float32 if int16 cannot hold it."""
    if out.dtype == np.int16 and raw.size:
        lo, hi = int(raw.min()), int(raw.max())
        s, b = int(slope), int(intercept)
        if min(lo * s, hi * s) + b >= -32768 and max(lo * s, hi * s) + b <= 32767:
            # int16 arithmetic wraps modulo 2**16, and the true result fits: it is exact.
            out[k] = raw
            if s != 1:
                out[k] *= np.int16(s)
            if b:
                out[k] += np.int16(b)
            return out
        out = out.astype(np.float32)
    out[k] = raw.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    return out


def _worded_issues(issues, map_slice) -> list[LoadWarning]:
    """Geometry issues as warnings, with slice indices in the output volume's numbering."""
    found = []
    for issue in issues:
        mapped = tuple(m for m in (map_slice(k) for k in issue.slices) if m is not None)
        found.append(LoadWarning(issue.code, issue.detail, mapped))
    return found


def _first(value):
    if value is None or value == "":
        return None
    try:
        number = float(value[0]) if hasattr(value, "__len__") and not isinstance(value, str) else float(value)
    except (TypeError, ValueError, IndexError):
        return None
    return number if np.isfinite(number) else None


def _display_metadata(rec: SliceRecord, n_images: int, source_codes: str) -> dict:
    """What the viewer shows about the scan; never patient identifiers, dates or institutions."""
    ds = rec.dataset
    padding = ds.get("PixelPaddingValue")
    agent = str(ds.get("ContrastBolusAgent", "") or "").strip()
    return {
        "format": "DICOM",
        "modality": rec.modality,
        "series_description": rec.description,
        "study_description": str(ds.get("StudyDescription", "") or "").strip(),
        "series_number": rec.series_number,
        "manufacturer": str(ds.get("Manufacturer", "") or "").strip(),
        "model_name": str(ds.get("ManufacturerModelName", "") or "").strip(),
        "body_part": str(ds.get("BodyPartExamined", "") or "").strip(),
        "convolution_kernel": str(ds.get("ConvolutionKernel", "") or "").strip(),
        "kvp": _first(ds.get("KVP")),
        "slice_thickness_mm": rec.thickness,
        "window_center": _first(ds.get("WindowCenter")),
        "window_width": _first(ds.get("WindowWidth")),
        "contrast_agent": agent or None,
        "patient_position": str(ds.get("PatientPosition", "") or "").strip(),
        "padding_hu": None if padding is None else float(padding) * rec.slope + rec.intercept,
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID.name) if "TransferSyntaxUID" in ds.file_meta else "",
        "n_images": n_images,
        "source_orientation": source_codes,
        # Which series share patient coordinates (a prior beside the current scan is linked by it).
        "frame_of_reference_uid": str(ds.get("FrameOfReferenceUID", "") or "").strip(),
    }
