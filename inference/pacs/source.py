"""The UIDs an SR needs about the scan it speaks of, read from the series' own files.

ctchat's loader gives voxels; an SR must name the original instances: the study, series and
frame of reference, and each stored slice's SOP class and instance. They are read here with
pydicom (headers only), the slices ordered as the loader stores them: along the slice normal,
turned to point along the patient axis it is nearest (the loader's LPS reorientation), so that
slice number k of ``ctchat ask`` (counted from 1) is ``slices[k - 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from .errors import PacsError


@dataclass
class SourceSeries:
    """The headers of one series' instances, in stored-slice order."""

    datasets: list[Dataset]

    @property
    def study_uid(self) -> str:
        return str(self.datasets[0].StudyInstanceUID)

    @property
    def series_uid(self) -> str:
        return str(self.datasets[0].SeriesInstanceUID)

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.datasets[0].get("FrameOfReferenceUID", ""))

    def slice(self, number: int) -> Dataset:
        """Stored slice ``number``, counted from 1 (as ``ctchat ask`` prints them)."""
        if not 1 <= number <= len(self.datasets):
            raise PacsError(f"slice {number} is not in this series (1 to {len(self.datasets)})")
        return self.datasets[number - 1]

    def by_sop(self, sop_uid: str) -> Dataset:
        """The instance with this SOPInstanceUID."""
        for ds in self.datasets:
            if str(ds.SOPInstanceUID) == sop_uid:
                return ds
        raise PacsError(f"instance {sop_uid} is not in series {self.series_uid}")


def read_source_series(path: str | Path, series_uid: str | None = None) -> SourceSeries:
    """The headers of the series in ``path`` (a folder, searched recursively, or one file).

    Raises:
        PacsError: no DICOM image there, or several series and none chosen.
    """
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    by_series: dict[str, list[Dataset]] = {}
    for file in files:
        try:
            ds = pydicom.dcmread(file, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError):
            continue  # not DICOM (a note, a thumbnail): the loader skips it too
        if "SOPInstanceUID" in ds and "Rows" in ds and "SeriesInstanceUID" in ds:
            by_series.setdefault(str(ds.SeriesInstanceUID), []).append(ds)
    if not by_series:
        raise PacsError(f"no DICOM images in {path.name}: the SR needs the scan's original DICOM files")
    if series_uid is None:
        if len(by_series) > 1:
            raise PacsError(f"{path.name} holds {len(by_series)} series: name one (--series)")
        series_uid = next(iter(by_series))
    if series_uid not in by_series:
        raise PacsError(f"series {series_uid} is not in {path.name}")
    return SourceSeries(_stored_order(by_series[series_uid]))


def _stored_order(datasets: list[Dataset]) -> list[Dataset]:
    """Slices ascending along the patient axis nearest their normal (instance number when the
    geometry is missing)."""
    first = datasets[0]
    if "ImageOrientationPatient" not in first or any("ImagePositionPatient" not in d for d in datasets):
        return sorted(datasets, key=lambda d: int(d.get("InstanceNumber", 0) or 0))
    row, col = np.asarray(first.ImageOrientationPatient[:3], float), np.asarray(first.ImageOrientationPatient[3:], float)
    normal = np.cross(row, col)
    axis = int(np.argmax(np.abs(normal)))
    if normal[axis] < 0:
        normal = -normal
    return sorted(datasets, key=lambda d: float(np.dot(np.asarray(d.ImagePositionPatient, float), normal)))
