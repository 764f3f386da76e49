"""One entry point for any CT input: a DICOM folder or file, a NIfTI file (or a preprocessed .npy model array)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import errors as E
from .dicom_scan import ScanResult, iter_files, read_header, records_from_dataset
from .dicomdir import indexed_files, is_dicomdir_name
from .dicom_series import LoadCancelled, Progress, SeriesGroup, assemble_volume, group_series, header_problem
from .errors import CTLoadError, LoadWarning
from .model_array import is_model_array_path, load_model_array
from .nifti import is_nifti_path, load_nifti
from .series_kind import UNUSABLE, VOLUME, SeriesKind, classify
from .volume import Volume

__all__ = ["DicomFolder", "LoadCancelled", "SeriesInfo", "default_series", "is_volume_file", "list_series",
           "load_volume", "read_dicom_folder", "volume_file_series"]


@dataclass(frozen=True)
class SeriesInfo:
    """What a user needs to choose a series: no patient identifiers."""

    uid: str  # the key to pass to load_volume (SeriesInstanceUID, "#n" added for split parts)
    description: str
    modality: str
    n_slices: int
    thickness_mm: float | None
    rows: int
    cols: int
    orientation: str  # axial, coronal, sagittal, oblique or unknown
    series_number: int | None
    kind: str = VOLUME  # a CT volume, or what else it is (localizer, secondary capture, ...)
    status: str = ""  # empty when it loads as a volume, else the sentence saying why not
    study_uid: str = ""
    study_description: str = ""

    @property
    def loadable(self) -> bool:
        """True when the series can be shown as a CT volume and sent to the model."""
        return not self.status


def default_series(series: list[SeriesInfo]) -> SeriesInfo | None:
    """The series to offer first: the largest axial CT volume (else the largest volume)."""
    usable = [s for s in series if s.loadable]
    if not usable:
        return None
    return max(usable, key=lambda s: (s.modality == "CT", s.orientation == "axial", s.n_slices))


def list_series(path: str | os.PathLike, *, cancel: threading.Event | None = None) -> list[SeriesInfo]:
    """The series found under ``path`` (a NIfTI file is one series).

    To load one of a folder's series next, list them with :func:`read_dicom_folder` instead:
    the load then parses no header again.

    Example:
        >>> for s in list_series("study/"):  # doctest: +SKIP
        ...     print(s.series_number, s.description, s.modality, s.n_slices, s.thickness_mm)
    """
    path = _checked_path(path)
    if path.is_file() and is_volume_file(path):
        return [volume_file_series(path)[0]]
    return read_dicom_folder(path, cancel=cancel).series


@dataclass(frozen=True)
class DicomFolder:
    """The DICOM files under a path, each header parsed once, grouped into series; the pixel
    data stays on disk. :func:`load_volume` loads a series from it without parsing a file again.

    Example:
        >>> folder = read_dicom_folder("study/")                        # doctest: +SKIP
        >>> [(s.uid, s.description, s.loadable) for s in folder.series]  # doctest: +SKIP
        >>> vol = load_volume(folder, folder.series[0].uid)              # doctest: +SKIP
    """

    path: Path
    groups: list[SeriesGroup]
    kinds: list[SeriesKind]  # what each group is, from its headers
    skipped: dict[str, str]  # files and folders passed over (name -> why)
    n_files: int

    @property
    def series(self) -> list[SeriesInfo]:
        """What a user chooses from, in study and series-number order."""
        infos = [_series_info(g, k) for g, k in zip(self.groups, self.kinds)]
        return sorted(infos, key=lambda s: (s.study_description, s.study_uid, s.series_number or 0, s.uid))


def read_dicom_folder(
    path: str | os.PathLike,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> DicomFolder:
    """Parse the header of every file under ``path`` (a folder, searched recursively, or one
    DICOM file) and group the images into series.

    Args:
        progress: called as ``progress(done, total)``, the first half of what
            :func:`load_volume` reports: loading a series from the folder reports the second.
        cancel: when set, reading stops with :class:`LoadCancelled`.

    Raises:
        CTLoadError: nothing under ``path`` is a DICOM image; the message says why.
        LoadCancelled: ``cancel`` was set.
    """
    path = _checked_path(path)
    unreadable: dict[str, str] = {}
    # a DICOMDIR opened by itself stands for the export it indexes
    root = path.parent if path.is_file() and is_dicomdir_name(path) else path
    files = indexed_files(iter_files(root, unreadable), unreadable)
    if not files:
        if unreadable:
            raise CTLoadError(next(iter(unreadable.values())))
        raise CTLoadError(f"{path.name}: the folder is empty")
    scan = _scan(files, progress, cancel)
    scan.skipped.update(unreadable)
    if not scan.records:
        if len(files) == 1:
            raise CTLoadError(next(iter(scan.skipped.values()), f"{path.name}: not a CT image"))
        reasons = "; ".join(f"{why}" for why in list(scan.skipped.values())[:3])
        raise CTLoadError(
            f"{path.name}: no DICOM images among {len(files)} file(s) ({reasons}"
            f"{'; ...' if len(scan.skipped) > 3 else ''})"
        )
    groups = group_series(scan.records)
    return DicomFolder(path, groups, [series_kind(g) for g in groups], scan.skipped, len(files))


def load_volume(
    path: str | os.PathLike | DicomFolder,
    series_uid: str | None = None,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Volume:
    """Load a CT from a DICOM series folder, a DICOM file or a NIfTI file (or a preprocessed
    ``.npy`` model array, in model units rather than HU: see :mod:`.model_array`).

    Args:
        path: folder (searched recursively), DICOM file (single- or multi-frame), .nii/.nii.gz,
            .npy; or a :class:`DicomFolder` already read (its headers are not parsed again).
        series_uid: which series when the folder holds several (see :func:`list_series`).
        progress: called as ``progress(done, total)`` from the loading thread.
        cancel: when set, loading stops with :class:`LoadCancelled`.

    Raises:
        CTLoadError: the input cannot be read; the message says why.
        LoadCancelled: ``cancel`` was set.

    Example:
        >>> vol = load_volume("chest_ct/")  # doctest: +SKIP
        >>> vol.shape, vol.spacing_zyx       # doctest: +SKIP
        ((64, 512, 512), (5.0, 0.842, 0.842))
    """
    if isinstance(path, DicomFolder):
        folder = path
    else:
        path = _checked_path(path)
        if path.is_file() and is_volume_file(path):
            vol = _load_volume_file(path)
            if progress is not None:
                progress(1, 1)
            return vol
        folder = read_dicom_folder(path, progress=progress, cancel=cancel)
    groups, kinds = folder.groups, folder.kinds
    group = _chosen_group(groups, kinds, series_uid, folder.path.name)
    extra = [_skipped_warning(folder.skipped)] if folder.skipped else []
    if series_uid is None and len(groups) > 1:
        extra.append(_others_warning([k for g, k in zip(groups, kinds) if g is not group]))
    group = SeriesGroup(group.key, group.records, group.warnings + extra)
    return assemble_volume(group, str(folder.path), _offset(progress, folder.n_files), cancel)


def _chosen_group(
    groups: list[SeriesGroup], kinds: list[SeriesKind], series_uid: str | None, name: str
) -> SeriesGroup:
    """The series asked for, or the only CT volume; a sentence when that is not one."""
    if series_uid is not None:
        matches = [g for g in groups if g.key == series_uid]
        if not matches:
            raise CTLoadError(f"series {series_uid} is not in {name}")
        kind = classify(matches[0].records)
        if not kind.is_volume:
            raise CTLoadError(
                f"{_label(matches[0])} is {kind.reason}: it is not shown as a volume or "
                "sent to the model"
            )
        return matches[0]
    volumes = [g for g, k in zip(groups, kinds) if k.is_volume]
    if len(volumes) == 1:
        return volumes[0]
    if not volumes:
        if len(groups) == 1 and kinds[0].kind == UNUSABLE:
            return groups[0]  # loading it gives the precise error
        what = "; ".join(f"{_label(g)}: {k.reason}" for g, k in list(zip(groups, kinds))[:4])
        raise CTLoadError(f"{name} holds no CT volume, only {what}")
    listing = "; ".join(f"{g.key} ({_label(g)}, {len(g.records)} images)" for g in volumes)
    raise CTLoadError(f"{name} holds {len(volumes)} CT series, choose one: {listing}")


def series_kind(group: SeriesGroup) -> SeriesKind:
    """What a series is from its headers; a would-be volume that cannot load is UNUSABLE."""
    kind = classify(group.records)
    if kind.is_volume:
        problem = header_problem(group)
        if problem:
            return SeriesKind(UNUSABLE, problem)
    return kind


def _label(group: SeriesGroup) -> str:
    """'series 3 "Thorax 1.0"' (number and description as far as the headers give them)."""
    first = group.records[0]
    number = f" {first.series_number}" if first.series_number is not None else ""
    return f"series{number} '{first.description}'" if first.description else f"series{number} (no description)"


def _others_warning(others: list[SeriesKind]) -> LoadWarning:
    kinds = [k.kind for k in others]
    counted = ", ".join(_counted(k, kinds.count(k)) for k in dict.fromkeys(kinds))
    return LoadWarning(E.OTHER_SERIES, f"the folder also holds {counted} (not loaded; `ctchat info` lists them)")


def _counted(kind: str, n: int) -> str:
    if kind == UNUSABLE:
        return f"{n} series that cannot be loaded"
    if kind == VOLUME:
        return f"{n} other CT series"
    return f"{n} {kind}{'s' if n > 1 else ''}"


def is_volume_file(path: Path) -> bool:
    """True for a file that is a whole volume by itself: NIfTI, or a preprocessed ``.npy`` array."""
    return is_nifti_path(path) or is_model_array_path(path)


def volume_file_series(path: str | os.PathLike) -> tuple[SeriesInfo, Volume]:
    """A NIfTI or ``.npy`` file's one series and its volume, read once (``ctchat info`` needs both)."""
    path = _checked_path(path)
    vol = _load_volume_file(path)
    nz, ny, nx = vol.shape
    modality = "CT" if vol.in_hu else "model array"
    return SeriesInfo(str(path), path.name, modality, nz, vol.spacing_zyx[0], ny, nx, "axial", None), vol


def _load_volume_file(path: Path) -> Volume:
    return load_model_array(path) if is_model_array_path(path) else load_nifti(path)


def _checked_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise CTLoadError(f"{path}: no such file or folder")
    if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
        raise CTLoadError(f"{path.name}: folder cannot be read (permission denied)")
    return path


def _scan(files: list[Path], progress: Progress | None, cancel: threading.Event | None) -> ScanResult:
    """Parse every file's header; keep image frames, note what was skipped and why.

    Sequential on purpose: header parsing is pure Python, and threads only add GIL contention
    (measured: 4 threads took 1.7x as long as one loop on 64 files).
    """
    records, skipped = [], {}
    total = 2 * len(files)  # header pass, then the decode pass
    for done, path in enumerate(files, 1):
        if cancel is not None and cancel.is_set():
            raise LoadCancelled()
        try:
            records.extend(records_from_dataset(path, read_header(path)))
        except CTLoadError as exc:
            skipped[path.name] = str(exc)
        if progress is not None:
            progress(done, total)
    return ScanResult(records, skipped)


def _offset(progress: Progress | None, n_files: int) -> Progress | None:
    """Map the decode pass's (done, total) into the second half of the progress range."""
    if progress is None:
        return None
    return lambda done, total: progress(n_files + round(done * n_files / max(total, 1)), 2 * n_files)


def _skipped_warning(skipped: dict[str, str]) -> LoadWarning:
    names = [n if len(n) <= 40 else n[:37] + "..." for n in skipped]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    first = next(iter(skipped.values()))
    return LoadWarning(
        E.SKIPPED_FILES,
        f"{len(names)} file(s) or folder(s) could not be used and were skipped: {shown} (first: {first})",
    )


def _series_info(group: SeriesGroup, kind: SeriesKind) -> SeriesInfo:
    first = group.records[0]
    return SeriesInfo(
        kind=kind.kind,
        status=kind.reason,
        study_uid=first.study_uid,
        study_description=first.study_description,
        uid=group.key,
        description=first.description,
        modality=first.modality,
        n_slices=len(group.records),
        thickness_mm=first.thickness,
        rows=first.rows,
        cols=first.cols,
        orientation=_orientation_label(first.orientation),
        series_number=first.series_number,
    )


def _orientation_label(orientation: np.ndarray | None) -> str:
    if orientation is None:
        return "unknown"
    normal = np.cross(orientation[:3], orientation[3:])
    axis = int(np.argmax(np.abs(normal)))
    if abs(normal[axis]) < 0.9:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]
