"""Every real scan in ../shared/data/ct loads with the right geometry, order and HU."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from volume_geometry import world_to_index

from inference.io import list_series, load_volume
from inference.io import errors as E

# path, shape (z, y, x), spacing (z, y, x) mm, source orientation, expected warning codes
SCANS = [
    ("dicom/chest_lungdx_A0001_5mm", (64, 512, 512), (5.0, 0.8418, 0.8418), "LPS", set()),
    ("dicom/chest_lungdx_A0002_8mm", (30, 512, 512), (8.0, 0.6465, 0.6465), "LPS", set()),
    ("dicom/upperabd_totalseg_j2k_20sl", (20, 512, 512), (2.0, 0.9766, 0.9766), "LPS", set()),
    ("tiny/pydicom_CT_small.dcm", (1, 128, 128), (5.0, 0.6615, 0.6615), "LPS", set()),
    ("tiny/pydicom_dicomdirtests_CT5N", (5, 16, 16), (2.5, 0.4883, 0.4883), "LPS", set()),
    ("tiny/monai_CT_DICOM_16x16", (165, 16, 16), (1.25, 0.4883, 0.4883), "LPS", {E.SLICE_GAP}),  # gap filled
    ("nifti/chest_lungdx_A0001_5mm_dcm2niix.nii.gz", (64, 512, 512), (5.0, 0.8418, 0.8418), "LAS", set()),
    ("nifti/abdomen_pelvis_totalseg_example_ct_3mm.nii.gz", (112, 101, 122), (3.0, 3.0, 3.0), "RAS", set()),
    ("nifti/abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz", (30, 101, 122), (3.0, 3.0, 3.0), "RAS", set()),
    ("nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz", (112, 102, 122), (1.5, 1.5, 1.5), "LPS", set()),
    ("nifti/chest_cta_aorta_crop_totalseg_1p5mm.nii.gz", (164, 126, 120), (1.5, 1.5, 1.5), "LPS", set()),
]


@pytest.mark.parametrize("rel, shape, spacing, source_codes, warning_codes", SCANS, ids=[s[0].split("/")[-1] for s in SCANS])
def test_every_real_scan_loads_with_its_geometry(ct_dir, rel, shape, spacing, source_codes, warning_codes):
    vol = load_volume(ct_dir / rel)
    assert vol.shape == shape
    assert np.allclose(vol.spacing_zyx, spacing, atol=1e-3)
    assert vol.orientation == "LPS"  # canonical index order after loading
    assert vol.metadata["source_orientation"] == source_codes
    assert vol.voxels.dtype == np.int16
    lo, hi = vol.hu_range()
    assert -1300 <= lo <= -800, "air should be about -1000 HU"
    assert 80 <= hi <= 4000
    assert {w.code for w in vol.warnings} == warning_codes
    assert np.all(np.diff(vol.slice_positions) > 0), "slices ascend toward superior"


def test_dicom_series_matches_its_dcm2niix_conversion(ct_dir, a0001_volume):
    """Same voxels and the same world geometry from the DICOM series and dcm2niix's NIfTI."""
    nifti = load_volume(ct_dir / "nifti" / "chest_lungdx_A0001_5mm_dcm2niix.nii.gz")
    assert np.array_equal(a0001_volume.voxels, nifti.voxels)
    # dcm2niix stores the affine in float32: agree to well under a micrometre per mm
    assert np.allclose(a0001_volume.affine, nifti.affine, atol=1e-4)
    assert np.allclose(a0001_volume.slice_positions, nifti.slice_positions, atol=1e-4)


@pytest.mark.parametrize(
    "rel",
    ["dicom/chest_lungdx_A0001_5mm", "dicom/chest_lungdx_A0002_8mm", "dicom/upperabd_totalseg_j2k_20sl", "tiny/pydicom_dicomdirtests_CT5N"],
)
def test_dicom_series_match_simpleitk(ct_dir, rel):
    """Voxels, origin and spacing agree with SimpleITK/GDCM (which also sorts by position)."""
    folder = ct_dir / rel
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    image = reader.Execute()
    vol = load_volume(folder)
    assert np.array_equal(sitk.GetArrayFromImage(image), vol.voxels)
    assert np.allclose(image.GetOrigin(), vol.affine[:3, 3], atol=1e-4)
    assert np.allclose(image.GetSpacing(), vol.spacing_zyx[::-1], atol=1e-4)
    assert np.allclose(np.array(image.GetDirection()).reshape(3, 3), vol.affine[:3, :3] / vol.spacing_zyx[::-1], atol=1e-6)


def test_descending_instances_are_sorted_by_position_not_instance_number(ct_dir):
    folder = ct_dir / "tiny" / "pydicom_dicomdirtests_CT5N"
    headers = [pydicom.dcmread(f) for f in sorted(folder.iterdir())]
    z = [float(h.ImagePositionPatient[2]) for h in headers]
    instance = [int(h.InstanceNumber) for h in headers]
    assert np.argsort(z).tolist() != np.argsort(instance).tolist(), "test data must have descending z"
    vol = load_volume(folder)
    assert np.allclose(vol.slice_positions, sorted(z))
    for k, h in enumerate(sorted(headers, key=lambda h: float(h.ImagePositionPatient[2]))):
        hu = h.pixel_array * float(h.RescaleSlope) + float(h.RescaleIntercept)
        assert np.array_equal(vol.voxels[k], hu)


def test_z_gap_is_filled_on_the_grid_and_reported_with_its_place(ct_dir):
    """Slices 18 and 180-182 of a 1.25 mm head: the 161 missing ones are interpolated on the
    regular grid, each file's slice is shown unchanged at its own position, the warning says so."""
    folder = ct_dir / "tiny" / "monai_CT_DICOM_16x16"
    vol = load_volume(folder)
    (gap,) = [w for w in vol.warnings if w.code == E.SLICE_GAP]
    assert gap.slices == tuple(range(1, 162)), "the interpolated slices are named"
    assert "161 slices were missing between slice 1 and slice 163 (202.50 mm apart)" in gap.message
    assert "interpolation" in gap.message and "original 4 slices are kept" in gap.message
    assert vol.spacing_zyx[0] == pytest.approx(1.25, abs=1e-3), "the grid keeps the series' own step"
    assert np.allclose(np.diff(vol.slice_positions), 1.25)
    headers = sorted((pydicom.dcmread(f) for f in folder.iterdir()), key=lambda h: float(h.ImagePositionPatient[2]))
    for n, h in enumerate(headers):
        ipp = np.array(h.ImagePositionPatient, float)
        k = int(np.rint(world_to_index(vol, ipp)[0]))
        assert np.linalg.norm(vol.index_to_world(k, 0, 0) - ipp) < 0.5
        hu = h.pixel_array.astype(np.int32) * int(h.RescaleSlope) + int(h.RescaleIntercept)
        assert np.array_equal(vol.voxels[k], hu) and np.array_equal(vol.original.voxels[n], hu)
    assert vol.original_positions[1] - vol.original_positions[0] == pytest.approx(202.5, abs=0.01)


def test_jpeg2000_series_decodes_to_the_same_hu_as_pydicom(ct_dir):
    folder = ct_dir / "dicom" / "upperabd_totalseg_j2k_20sl"
    vol = load_volume(folder)
    headers = sorted((pydicom.dcmread(f) for f in folder.iterdir()), key=lambda h: float(h.ImagePositionPatient[2]))
    assert headers[0].file_meta.TransferSyntaxUID.name.startswith("JPEG 2000")
    assert np.array_equal(vol.voxels[7], headers[7].pixel_array.astype(np.int32) - 1024)


@pytest.mark.parametrize(
    "name",
    [
        "abdomen_pelvis_totalseg_example_ct_3mm.nii.gz",  # int32, RAS
        "chest_cta_heart_crop_totalseg_1p5mm.nii.gz",  # LPS
        "chest_lungdx_A0001_5mm_dcm2niix.nii.gz",  # LAS
    ],
)
def test_nifti_voxels_keep_their_world_position(ct_dir, name):
    """Each voxel of the file, placed by nibabel's RAS affine, holds the same value in the Volume."""
    img = nib.load(str(ct_dir / "nifti" / name))
    data = np.asanyarray(img.dataobj)
    vol = load_volume(ct_dir / "nifti" / name)
    rng = np.random.default_rng(0)
    for _ in range(50):
        ijk = [int(rng.integers(0, n)) for n in data.shape[:3]]
        ras = img.affine @ np.array([*ijk, 1.0])
        lps = ras[:3] * np.array([-1, -1, 1])
        k, j, i = np.rint(world_to_index(vol, lps)).astype(int)
        assert np.allclose(world_to_index(vol, lps), (k, j, i), atol=1e-4)
        assert vol.voxels[k, j, i] == data[tuple(ijk)]


def test_int32_nifti_becomes_int16_without_changing_values(ct_dir):
    path = ct_dir / "nifti" / "abdomen_pelvis_totalseg_example_ct_3mm.nii.gz"
    assert nib.load(str(path)).get_data_dtype() == np.int32
    vol = load_volume(path)
    raw = np.asanyarray(nib.load(str(path)).dataobj)
    assert vol.voxels.dtype == np.int16
    assert sorted(np.unique(vol.voxels).tolist()) == sorted(np.unique(raw).tolist())


def test_radiological_layout_of_the_a0001_chest(a0001_volume):
    """Row 0 is anterior, column 0 is patient right: the spine is in the bottom half of a slice."""
    mid = a0001_volume.voxels[a0001_volume.shape[0] // 2].astype(np.float32)
    bone_rows = np.flatnonzero((mid > 300).sum(axis=1) > 5)
    assert bone_rows.mean() > mid.shape[0] * 0.5  # spine posterior = lower rows
    x_left = a0001_volume.index_to_world(0, 0, mid.shape[1] - 1)[0]
    x_right = a0001_volume.index_to_world(0, 0, 0)[0]
    assert x_left > x_right  # +x is patient left in LPS


def test_display_metadata_has_no_patient_identifiers(a0001_dicom, a0001_volume):
    header = pydicom.dcmread(next(a0001_dicom.iterdir()))
    text = repr(a0001_volume.metadata)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "InstitutionName"):
        value = str(header.get(keyword, "") or "")
        if len(value) > 2:
            assert value not in text
    assert a0001_volume.metadata["window_center"] == -600
    assert a0001_volume.metadata["window_width"] == 1600


def test_list_series_describes_each_series_in_a_folder(ct_dir):
    series = list_series(ct_dir / "dicom")  # three studies, listed by study description
    assert [(s.n_slices, s.modality, s.orientation) for s in series] == [(20, "CT", "axial"), (64, "CT", "axial"), (30, "CT", "axial")]
    assert [s.study_description for s in series] == ["", "Chest", "Thorax^AThoraxRoutine (Adult)"]
    assert all(s.kind == "CT volume" and s.loadable for s in series)
    assert series[1].description == "5mm" and series[1].thickness_mm == 5.0
