"""A scan's identity is what the scan is, not where it was opened from: the A0001 series as DICOM,
as dcm2niix's NIfTI (stored LAS) and as the bundled demo NIfTI is one scan; a changed voxel, a
moved scan or another series is another."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from inference.io import Volume, load_volume, scan_identity
from inference.resources import DEMO_CT

# A0001's identity before it moved into inference.io (the viewer's transcript key): unchanged, so
# a scan keeps the key it had
A0001_IDENTITY = "f5d629e0892284779984aa2bdfe98899"


def test_one_series_opened_as_dicom_or_nifti_or_from_another_path_is_one_scan(ct_dir: Path, a0001_volume: Volume,
                                                                             tmp_path: Path) -> None:
    elsewhere = tmp_path / "another name"
    elsewhere.symlink_to(ct_dir / "dicom" / "chest_lungdx_A0001_5mm", target_is_directory=True)
    identities = {scan_identity(v) for v in (a0001_volume, load_volume(elsewhere), load_volume(DEMO_CT),
                                             load_volume(ct_dir / "nifti" / "chest_lungdx_A0001_5mm_dcm2niix.nii.gz"))}
    assert identities == {A0001_IDENTITY}


def test_another_series_is_another_scan(ct_dir: Path, a0001_volume: Volume) -> None:
    assert scan_identity(load_volume(ct_dir / "dicom" / "chest_lungdx_A0002_8mm")) != scan_identity(a0001_volume)


@pytest.mark.parametrize("slice_index", [0, 32, 60])  # slices the identity reads
def test_a_changed_voxel_is_another_scan(a0001_volume: Volume, slice_index: int) -> None:
    voxels = a0001_volume.voxels.copy()
    voxels[slice_index, 256, 256] += 1
    assert scan_identity(dataclasses.replace(a0001_volume, voxels=voxels)) != A0001_IDENTITY


@pytest.mark.parametrize("row, column, change", [(0, 3, 1.0), (2, 3, -5.0), (0, 0, 0.01)])
def test_a_moved_or_rescaled_scan_is_another_scan(a0001_volume: Volume, row: int, column: int, change: float) -> None:
    affine = a0001_volume.affine.copy()
    affine[row, column] += change  # shifted 1 mm left, 5 mm down; its voxels 0.01 mm wider
    assert scan_identity(dataclasses.replace(a0001_volume, affine=affine)) != A0001_IDENTITY


def test_the_identity_is_read_from_the_volume_not_its_metadata(a0001_volume: Volume) -> None:
    renamed = dataclasses.replace(a0001_volume, metadata={}, source="elsewhere", warnings=[])
    assert scan_identity(renamed) == A0001_IDENTITY
