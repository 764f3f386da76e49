"""A second series of the real A0001 chest in the same frame of reference, for the prior tests:
every other slice of a range (10 mm apart instead of 5), optionally cropped in-plane, with a new
SeriesInstanceUID and new SOP instance UIDs, as a scanner writes a thick reconstruction or a
second kernel of one acquisition. Positions come from the files' own headers, so the tests can
check the link against them without our loader's affine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid


def sorted_by_z(folder: Path) -> list[Path]:
    """The series' files from feet to head (by ImagePositionPatient z)."""
    return sorted(folder.iterdir(), key=lambda p: float(pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient[2]))


def write_prior_series(src: Path, out: Path, start: int = 8, stop: int = 56, step: int = 2,
                       crop: tuple[int, int, int, int] | None = None, frame_uid: str | None = None,
                       shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Path:
    """Write slices ``start:stop:step`` of ``src`` (sorted by z) to ``out``; ``crop`` = (row0,
    col0, rows, cols) keeps that part of each image (ImagePositionPatient moved to its first
    pixel); ``frame_uid`` replaces the FrameOfReferenceUID (another visit's frame) and ``shift_mm``
    moves every ImagePositionPatient (LPS mm: the same anatomy at other coordinates)."""
    out.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid()
    for n, path in enumerate(sorted_by_z(src)[start:stop:step]):
        ds = pydicom.dcmread(path)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.SeriesDescription = "prior"
        ds.InstanceNumber = n + 1
        if frame_uid is not None:
            ds.FrameOfReferenceUID = frame_uid
        if crop is not None:
            row0, col0, rows, cols = crop
            pixels = ds.pixel_array[row0:row0 + rows, col0:col0 + cols]
            row_cos, col_cos = (np.array(ds.ImageOrientationPatient[:3], float),
                                np.array(ds.ImageOrientationPatient[3:], float))
            dr, dc = (float(v) for v in ds.PixelSpacing)  # between rows, between columns
            ipp = np.array(ds.ImagePositionPatient, float) + row_cos * col0 * dc + col_cos * row0 * dr
            ds.ImagePositionPatient = [f"{v:.4f}" for v in ipp]
            ds.Rows, ds.Columns = rows, cols
            ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        if any(shift_mm):
            ds.ImagePositionPatient = [f"{float(v) + d:.4f}" for v, d in zip(ds.ImagePositionPatient, shift_mm)]
        ds.save_as(out / f"{n:03d}.dcm")
    return out


def header_z(folder: Path) -> np.ndarray:
    """ImagePositionPatient z of each file, sorted (feet to head)."""
    return np.array(sorted(float(pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient[2])
                           for p in folder.iterdir()))
