"""The region check reads the header with the image: a head whose inside is mostly air (an
air-filled head phantom) holds as much "lung" as a chest, and only its header tells that it is
a head. Built from real DICOM files: the A0002 chest series' files with a head drawn into
their pixels, under the header of the issue's phantom or that of the shared MONAI head scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_corpus import edit, series_copy

from inference.body_region import header_regions, scan_region
from inference.bundle import load_bundle
from inference.chat.scope import MIN_LUNG_FRACTION, check_region
from inference.io import load_volume

MONAI_HEAD = Path("tiny") / "monai_CT_DICOM_16x16"
PHANTOM_HEADER = {"BodyPartExamined": "BRAIN", "StudyDescription": "", "SeriesDescription": "STD BRAIN 1MM"}


def air_filled_head(ds: pydicom.Dataset) -> None:
    """A 160 x 190 mm head: scalp, a 5 mm skull, and air where the brain was."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    dy, dx = (float(v) for v in ds.PixelSpacing)
    y, x = np.mgrid[:rows, :cols]
    r = np.hypot((x - cols / 2) * dx / 80.0, (y - rows / 2) * dy / 95.0)
    hu = np.select([r < 0.91, r < 0.96, r < 1.0], [-1000.0, 1200.0, 40.0], -1000.0)
    slope, intercept = float(getattr(ds, "RescaleSlope", 1)), float(getattr(ds, "RescaleIntercept", 0))
    ds.PixelData = np.round((hu - intercept) / slope).astype(ds.pixel_array.dtype).tobytes()


def head_series(folder: Path, data: Path, header: dict[str, str]) -> Path:
    def to_head(ds: pydicom.Dataset, _k: int) -> None:
        air_filled_head(ds)
        for keyword, value in header.items():
            setattr(ds, keyword, value)

    return edit(series_copy(folder, data, 12), to_head)


def monai_head_header(data: Path) -> dict[str, str]:
    ds = pydicom.dcmread(sorted((data / MONAI_HEAD).iterdir())[0], stop_before_pixels=True)
    return {k: str(ds.get(k, "")) for k in ("BodyPartExamined", "StudyDescription", "SeriesDescription")}


@pytest.fixture(scope="module")
def scope():
    return load_bundle("default").scope


@pytest.mark.parametrize("header_of", ["issue phantom", "shared MONAI head"])
def test_an_air_filled_head_is_outside_the_region(header_of, ct_dir, tmp_path, scope):
    header = PHANTOM_HEADER if header_of == "issue phantom" else monai_head_header(ct_dir)
    volume = load_volume(head_series(tmp_path, ct_dir, header))
    check = check_region(volume, scope)
    # the image alone reads it as a chest: a third of the body and more is enclosed air
    assert check.lung_fraction > 3 * MIN_LUNG_FRACTION
    assert check.status == "outside" and check.warns
    assert "header says it shows the head" in check.message and "outside the trained region" in check.message
    assert "chest CT" in check.message and header["SeriesDescription"] in check.message
    assert scan_region(volume) == "head"


def test_without_a_header_the_image_decides(ct_dir, tmp_path, scope):
    """The same head as a NIfTI file: no header, so the image alone speaks (and reads a chest)."""
    import nibabel as nib

    volume = load_volume(head_series(tmp_path, ct_dir, PHANTOM_HEADER))
    path = tmp_path / "head.nii.gz"
    nib.save(nib.Nifti1Image(volume.voxels.transpose(2, 1, 0).astype(np.int16), np.diag([-0.65, -0.65, 8, 1])), path)
    nifti = load_volume(path)
    assert not header_regions(nifti.metadata)
    assert check_region(nifti, scope).status == "inside" and scan_region(nifti) == "chest"


@pytest.mark.parametrize("metadata, regions", [
    ({"body_part": "CHEST", "study_description": "Thorax^AThoraxRoutine (Adult)"}, {"chest"}),
    ({"body_part": "HEAD", "study_description": "CT, HEAD/BRAIN WO CONTRAST"}, {"head"}),
    ({"body_part": "CHESTABDPELVIS"}, {"chest", "abdomen"}),
    ({"body_part": "PARTIALBODY", "series_description": "CT Body 3.0"}, set()),
    ({"format": "NIfTI", "description": "Time=190047.000"}, set()),
])
def test_header_regions(metadata, regions):
    assert header_regions(metadata) == regions
