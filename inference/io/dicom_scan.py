"""Read DICOM headers into one `SliceRecord` per image frame and group them into series.

A header is parsed once: ``defer_size`` leaves pixel data on disk until it is decoded, so
listing series is cheap and loading one does not parse its files twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from .errors import CTLoadError

# Storage classes that never hold a slice of a volume.
_NON_IMAGE_SOP_PREFIXES = (
    "1.2.840.10008.1.3.10",  # Media Storage Directory (DICOMDIR)
    "1.2.840.10008.5.1.4.1.1.88",  # structured reports
    "1.2.840.10008.5.1.4.1.1.11",  # presentation states
    "1.2.840.10008.5.1.4.1.1.66",  # raw data, registration, segmentation
    "1.2.840.10008.5.1.4.1.1.481",  # RT plans, structures, doses
)
DEFER_BYTES = 2048
ORIENTATION_TOL = 1e-2  # unit length and orthogonality of the two cosines


@dataclass
class SliceRecord:
    """One 2-D image frame of a DICOM file, with what is needed to place and decode it."""

    path: Path
    frame: int  # index in a multi-frame file, 0 for single-frame files
    n_frames: int
    series_uid: str
    series_number: int | None
    description: str
    modality: str
    rows: int
    cols: int
    position: np.ndarray | None  # ImagePositionPatient, LPS mm
    orientation: np.ndarray | None  # ImageOrientationPatient: row cosine then column cosine
    pixel_spacing: tuple[float, float] | None  # (between rows, between columns) mm
    thickness: float | None
    slope: float
    intercept: float
    instance_number: int | None
    dataset: Dataset = field(repr=False)
    study_uid: str = ""
    study_description: str = ""
    image_type: tuple[str, ...] = ()  # ImageType values, upper case (ORIGINAL, PRIMARY, AXIAL, ...)
    sop_class: str = ""
    samples_per_pixel: int = 1


@dataclass
class ScanResult:
    """The image frames found under a path, and the files that were passed over, with why."""

    records: list[SliceRecord]
    skipped: dict[str, str]


def iter_files(path: Path, unreadable: dict[str, str] | None = None) -> list[Path]:
    """Regular, non-hidden files under ``path`` (recursively, sorted); ``[path]`` for a file.

    Subfolders that cannot be listed are named in ``unreadable`` (name -> why), not skipped
    silently: a series split across them would otherwise load with half its slices.
    """
    if path.is_file():
        return [path]
    files: list[Path] = []

    def note(exc: OSError) -> None:
        if unreadable is not None:
            name = Path(exc.filename or path).name
            why = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or "unreadable")
            unreadable[name + "/"] = f"folder {name} cannot be read ({why})"

    for root, dirs, names in os.walk(path, onerror=note):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(root, n) for n in sorted(names) if not n.startswith("."))
    return files


def read_header(path: Path) -> Dataset:
    """Parse a DICOM file's header; pixel data stays on disk until decoded.

    Raises:
        CTLoadError: the file is empty, unreadable, not DICOM, or damaged.
    """
    try:
        if path.stat().st_size == 0:
            raise CTLoadError(f"{path.name}: the file is empty (0 bytes)")
        return pydicom.dcmread(path, defer_size=DEFER_BYTES)
    except PermissionError as exc:
        raise CTLoadError(f"{path.name}: cannot be read (permission denied)") from exc
    except InvalidDicomError as exc:
        raise CTLoadError(f"{path.name}: not a DICOM file") from exc
    except CTLoadError:
        raise
    except Exception as exc:  # pydicom raises many types on damaged files
        raise CTLoadError(f"{path.name}: damaged or truncated DICOM file ({exc})") from exc


def records_from_dataset(path: Path, ds: Dataset) -> list[SliceRecord]:
    """The image frames of one parsed file: one record, or one per frame of a multi-frame file.

    Raises:
        CTLoadError: the file is DICOM but holds no image (a DICOMDIR, a report, ...).
    """
    sop = str(ds.get("SOPClassUID", ""))
    if sop.startswith(_NON_IMAGE_SOP_PREFIXES) or "Rows" not in ds:
        if "Image Storage" in _sop_name(sop) and "PixelData" not in ds:  # an image file, cut short
            raise CTLoadError(f"{path.name}: damaged or truncated DICOM file (its header ends before the image)")
        raise CTLoadError(f"{path.name}: DICOM file without an image ({_sop_name(sop)})")
    common = dict(
        path=path,
        series_uid=str(ds.get("SeriesInstanceUID", "")) or f"(no series UID) {path.parent.name}",
        series_number=_int_or_none(ds.get("SeriesNumber")),
        description=str(ds.get("SeriesDescription", "") or "").strip(),
        modality=str(ds.get("Modality", "") or "").strip().upper(),
        rows=int(ds.Rows),
        cols=int(ds.Columns),
        instance_number=_int_or_none(ds.get("InstanceNumber")),
        dataset=ds,
        study_uid=str(ds.get("StudyInstanceUID", "") or ""),
        study_description=str(ds.get("StudyDescription", "") or "").strip(),
        image_type=_image_type(ds.get("ImageType")),
        sop_class=sop,
        samples_per_pixel=_int_or_none(ds.get("SamplesPerPixel")) or 1,
    )
    n_frames = _int_or_none(ds.get("NumberOfFrames")) or 1
    if n_frames == 1 and "PerFrameFunctionalGroupsSequence" not in ds:
        return [
            SliceRecord(
                frame=0,
                n_frames=1,
                position=_vector(ds.get("ImagePositionPatient"), 3),
                orientation=_orientation(ds.get("ImageOrientationPatient")),
                pixel_spacing=_spacing(ds.get("PixelSpacing")),
                thickness=_float_or_none(ds.get("SliceThickness")),
                slope=_rescale(ds.get("RescaleSlope"), 1.0, "RescaleSlope", path),
                intercept=_rescale(ds.get("RescaleIntercept"), 0.0, "RescaleIntercept", path),
                **common,
            )
        ]
    return _multiframe_records(ds, n_frames, common)


def _multiframe_records(ds: Dataset, n_frames: int, common: dict) -> list[SliceRecord]:
    """Enhanced (functional-group) multi-frame images: geometry and rescale per frame."""
    shared = ds.get("SharedFunctionalGroupsSequence", [Dataset()])[0]
    per_frame = ds.get("PerFrameFunctionalGroupsSequence", [])
    records = []
    for f in range(n_frames):
        groups = per_frame[f] if f < len(per_frame) else Dataset()

        def item(seq_name: str, _groups: Dataset = groups) -> Dataset:
            for source in (_groups, shared):
                if seq_name in source and len(source[seq_name].value):
                    return source[seq_name].value[0]
            return Dataset()

        plane = item("PlanePositionSequence")
        orient = item("PlaneOrientationSequence")
        measures = item("PixelMeasuresSequence")
        rescale = item("PixelValueTransformationSequence")
        records.append(
            SliceRecord(
                frame=f,
                n_frames=n_frames,
                position=_vector(plane.get("ImagePositionPatient", ds.get("ImagePositionPatient")), 3),
                orientation=_orientation(orient.get("ImageOrientationPatient", ds.get("ImageOrientationPatient"))),
                pixel_spacing=_spacing(measures.get("PixelSpacing", ds.get("PixelSpacing"))),
                thickness=_float_or_none(measures.get("SliceThickness", ds.get("SliceThickness"))),
                slope=_rescale(rescale.get("RescaleSlope", ds.get("RescaleSlope")), 1.0, "RescaleSlope", common["path"]),
                intercept=_rescale(
                    rescale.get("RescaleIntercept", ds.get("RescaleIntercept")), 0.0, "RescaleIntercept", common["path"]
                ),
                **common,
            )
        )
    return records


def _sop_name(uid: str) -> str:
    try:
        return pydicom.uid.UID(uid).name if uid else "no SOP class"
    except Exception:
        return uid


def _vector(value, n: int) -> np.ndarray | None:
    try:
        arr = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == (n,) and np.all(np.isfinite(arr)) else None


def _orientation(value) -> np.ndarray | None:
    """ImageOrientationPatient when it is two orthogonal unit vectors (else None: unusable)."""
    arr = _vector(value, 6)
    if arr is None:
        return None
    row, col = arr[:3], arr[3:]
    unit = abs(np.linalg.norm(row) - 1) < ORIENTATION_TOL and abs(np.linalg.norm(col) - 1) < ORIENTATION_TOL
    return arr if unit and abs(row @ col) < ORIENTATION_TOL else None


def _rescale(value, default: float, name: str, path: Path) -> float:
    """A rescale slope or intercept; a value that is not a finite number makes HU unknowable."""
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number):
        raise CTLoadError(f"{path.name}: its {name} ({value}) is not a finite number, so its HU are unknown")
    if name == "RescaleSlope" and number == 0:
        return default  # a zero slope would blank the image: writers use it for "not set"
    return number


def _image_type(value) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else list(value)
    return tuple(str(v).strip().upper() for v in values)


def _spacing(value) -> tuple[float, float] | None:
    arr = _vector(value, 2)
    return (float(arr[0]), float(arr[1])) if arr is not None and np.all(arr > 0) else None


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float_or_none(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
