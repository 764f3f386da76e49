"""A corpus of bad inputs: each gives one clear CTLoadError, or a warning the user will see.

The corpus is made from the real scans (copied, then damaged or edited) in a temporary folder.
"""

from __future__ import annotations

import gzip
import shutil
import threading
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from inference.io import CTLoadError, LoadCancelled, list_series, load_volume
from inference.io import checks
from inference.io import errors as E


@pytest.fixture()
def a0002_copy(ct_dir, tmp_path) -> Path:
    """A writable copy of the 30-slice A0002 series (first 8 slices, to stay fast)."""
    src = sorted((ct_dir / "dicom" / "chest_lungdx_A0002_8mm").iterdir())[:8]
    dst = tmp_path / "series"
    dst.mkdir()
    for f in src:
        shutil.copy(f, dst / f.name)
    return dst


def edit(folder: Path, fn, files: slice = slice(None)) -> None:
    """Apply ``fn(dataset, index)`` to the sorted files of a folder and save them."""
    for n, path in enumerate(sorted(folder.iterdir())[files]):
        ds = pydicom.dcmread(path)
        fn(ds, n)
        ds.save_as(path)


def slice_of(vol, path: Path) -> int:
    """Index in ``vol`` of the slice stored in ``path`` (found by its position)."""
    z = float(pydicom.dcmread(path).ImagePositionPatient[2])
    return int(np.argmin(np.abs(vol.slice_positions - z)))


def codes(vol) -> set[str]:
    return {w.code for w in vol.warnings}


# --- unreadable input: one error type, a human message ------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(CTLoadError, match="no such file or folder"):
        load_volume(tmp_path / "nowhere")


def test_empty_folder(tmp_path):
    with pytest.raises(CTLoadError, match="folder is empty"):
        load_volume(tmp_path)


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.dcm").write_bytes(b"")
    with pytest.raises(CTLoadError, match=r"empty \(0 bytes\)"):
        load_volume(tmp_path / "empty.dcm")


def test_not_dicom_or_nifti(tmp_path):
    (tmp_path / "notes.txt").write_text("findings: none\n" * 20)
    with pytest.raises(CTLoadError, match="not a DICOM file"):
        load_volume(tmp_path / "notes.txt")


def test_folder_without_dicom(tmp_path):
    for n in range(3):
        (tmp_path / f"photo{n}.jpg").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CTLoadError, match="no DICOM images among 3 file"):
        load_volume(tmp_path)


def test_truncated_dicom_file(a0002_copy):
    path = sorted(a0002_copy.iterdir())[0]
    path.write_bytes(path.read_bytes()[: 300_000])  # cut inside the pixel data
    with pytest.raises(CTLoadError, match="truncated"):
        load_volume(path)


def test_truncated_dicom_header(a0002_copy):
    path = sorted(a0002_copy.iterdir())[0]
    path.write_bytes(path.read_bytes()[:700])
    with pytest.raises(CTLoadError, match=path.name):
        load_volume(path)


def test_truncated_file_in_a_series_is_skipped_and_reported(a0002_copy):
    path = sorted(a0002_copy.iterdir())[3]
    path.write_bytes(path.read_bytes()[:700])
    vol = load_volume(a0002_copy)
    assert vol.shape[0] == 8 and vol.n_original == 7, "the missing slice is interpolated on the grid"
    assert E.SKIPPED_FILES in codes(vol)
    assert E.SLICE_GAP in codes(vol), "the missing slice leaves a gap, which must be reported"


def test_truncated_nifti(ct_dir, tmp_path):
    src = (ct_dir / "nifti" / "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz").read_bytes()
    (tmp_path / "cut.nii.gz").write_bytes(src[: len(src) // 2])
    with pytest.raises(CTLoadError, match="truncated or damaged"):
        load_volume(tmp_path / "cut.nii.gz")


def test_text_named_nifti(tmp_path):
    (tmp_path / "scan.nii.gz").write_bytes(gzip.compress(b"not an image"))
    with pytest.raises(CTLoadError, match="not a readable NIfTI"):
        load_volume(tmp_path / "scan.nii.gz")


def test_4d_nifti(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 4, 3), np.int16), np.eye(4)), tmp_path / "t.nii.gz")
    with pytest.raises(CTLoadError, match="3 dimensions"):
        load_volume(tmp_path / "t.nii.gz")


def test_permission_denied(a0002_copy, monkeypatch):
    # Tests run as root in CI, where chmod cannot deny reading: simulate the OS refusing.
    real = pydicom.dcmread

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pydicom, "dcmread", refuse)
    with pytest.raises(CTLoadError, match="permission denied"):
        load_volume(sorted(a0002_copy.iterdir())[0])
    monkeypatch.setattr(pydicom, "dcmread", real)


def test_no_pixel_data_anywhere(a0002_copy):
    edit(a0002_copy, lambda ds, n: delattr(ds, "PixelData"))
    with pytest.raises(CTLoadError, match="has pixel data"):
        load_volume(a0002_copy)


def test_volume_too_large_for_memory(a0002_copy, monkeypatch):
    monkeypatch.setattr(checks, "available_memory_bytes", lambda: 1_000_000)
    with pytest.raises(CTLoadError, match="GiB of memory is available"):
        load_volume(a0002_copy)


def test_several_series_ask_for_a_choice(ct_dir, a0002_copy):
    other = ct_dir / "tiny" / "pydicom_dicomdirtests_CT5N"
    shutil.copytree(other, a0002_copy / "other")
    with pytest.raises(CTLoadError, match="holds 2 CT series, choose one"):
        load_volume(a0002_copy)
    series = list_series(a0002_copy)
    assert sorted(s.n_slices for s in series) == [5, 8]
    chosen = next(s for s in series if s.n_slices == 5)
    assert load_volume(a0002_copy, series_uid=chosen.uid).shape == (5, 16, 16)
    with pytest.raises(CTLoadError, match="is not in"):
        load_volume(a0002_copy, series_uid="1.2.3")


# --- problems the loader reports and does not "fix" ----------------------------------------


def test_missing_pixel_data_in_some_slices(a0002_copy):
    edit(a0002_copy, lambda ds, n: delattr(ds, "PixelData"), slice(2, 3))
    vol = load_volume(a0002_copy)
    assert vol.n_original == 7 and vol.shape[0] == 8, "the slice left out is interpolated on the grid"
    assert E.MISSING_PIXEL_DATA in codes(vol) and E.SLICE_GAP in codes(vol)


def test_uneven_spacing_is_reported_where_it_is(a0002_copy):
    def shift(ds, n):
        if n >= 5:
            ds.ImagePositionPatient = [*ds.ImagePositionPatient[:2], float(ds.ImagePositionPatient[2]) + 2.0]

    edit(a0002_copy, shift)
    vol = load_volume(a0002_copy)
    (uneven,) = [w for w in vol.warnings if w.code == E.UNEVEN_SPACING]
    assert "10.00 mm" in uneven.message or "6.00 mm" in uneven.message
    assert len(uneven.slices) == 1
    assert np.ptp(np.diff(vol.original_positions)) == pytest.approx(2.0, abs=1e-6), "true positions kept"
    assert np.ptp(np.diff(vol.slice_positions)) == pytest.approx(0.0, abs=1e-6), "shown on a regular grid"


def test_different_images_at_one_position_are_refused(a0002_copy):
    def same(ds, n):
        if n == 4:
            first = pydicom.dcmread(sorted(a0002_copy.iterdir())[3])
            ds.ImagePositionPatient = first.ImagePositionPatient

    edit(a0002_copy, same)
    with pytest.raises(CTLoadError, match="lie at the same position .* but hold different images"):
        load_volume(a0002_copy)


def test_gantry_tilt(a0002_copy):
    def shear(ds, n):
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y + np.tan(np.radians(15)) * z, z]
        ds.GantryDetectorTilt = 15

    edit(a0002_copy, shear)
    vol = load_volume(a0002_copy)
    (tilt,) = [w for w in vol.warnings if w.code == E.GANTRY_TILT]
    assert "15.0 degrees" in tilt.message
    # the stored geometry is sheared (the slice axis has a y component); the grid is not
    assert abs(vol.original.affine[1, 2]) > 1.0 and abs(vol.affine[1, 2]) < 1e-6


def test_mixed_orientations_are_split_and_reported(a0002_copy):
    def coronal(ds, n):
        if n < 2:
            ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]

    edit(a0002_copy, coronal)
    series = list_series(a0002_copy)
    assert sorted(s.n_slices for s in series) == [2, 6]
    vol = load_volume(a0002_copy, series_uid=next(s.uid for s in series if s.n_slices == 6))
    assert E.MIXED_ORIENTATIONS in codes(vol)


def test_non_ct_modality(a0002_copy):
    edit(a0002_copy, lambda ds, n: setattr(ds, "Modality", "MR"))
    vol = load_volume(a0002_copy)
    assert E.NOT_CT in codes(vol)


def test_missing_rescale_gives_implausible_hu(a0002_copy):
    edit(a0002_copy, lambda ds, n: setattr(ds, "RescaleIntercept", 0))
    vol = load_volume(a0002_copy)
    assert E.IMPLAUSIBLE_HU in codes(vol)


def test_missing_geometry_falls_back_loudly(a0002_copy):
    def strip(ds, n):
        del ds.ImagePositionPatient
        del ds.ImageOrientationPatient

    edit(a0002_copy, strip)
    vol = load_volume(a0002_copy)
    assert E.MISSING_GEOMETRY in codes(vol)
    assert vol.shape == (8, 512, 512)


def test_per_slice_rescale_is_applied(a0002_copy):
    edit(a0002_copy, lambda ds, n: setattr(ds, "RescaleSlope", 2) if n == 1 else None)
    vol = load_volume(a0002_copy)
    path = sorted(a0002_copy.iterdir())[1]
    raw = pydicom.dcmread(path).pixel_array.astype(np.int32)
    assert np.array_equal(vol.voxels[slice_of(vol, path)], raw * 2 - 1024)


def test_fractional_rescale_gives_float_hu(a0002_copy):
    edit(a0002_copy, lambda ds, n: setattr(ds, "RescaleSlope", 0.5))
    vol = load_volume(a0002_copy)
    assert vol.voxels.dtype == np.float32
    path = sorted(a0002_copy.iterdir())[0]
    raw = pydicom.dcmread(path).pixel_array
    assert np.allclose(vol.voxels[slice_of(vol, path)], raw * 0.5 - 1024)


# --- other input forms -------------------------------------------------------------------


def test_multiframe_enhanced_ct(ct_dir, tmp_path):
    """An Enhanced CT file built from 6 real slices loads like those slices as a series."""
    files = sorted((ct_dir / "dicom" / "chest_lungdx_A0002_8mm").iterdir())[:6]
    slices = [pydicom.dcmread(f) for f in files]
    mf = Dataset()
    mf.file_meta = slices[0].file_meta.copy()
    mf.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    mf.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"
    for kw in ("Modality", "SeriesDescription", "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "SamplesPerPixel", "PhotometricInterpretation"):
        setattr(mf, kw, getattr(slices[0], kw))
    mf.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"
    mf.SOPInstanceUID = generate_uid()
    mf.SeriesInstanceUID = generate_uid()
    mf.NumberOfFrames = len(slices)
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([Dataset()])
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = slices[0].ImageOrientationPatient
    shared.PixelMeasuresSequence = Sequence([Dataset()])
    shared.PixelMeasuresSequence[0].PixelSpacing = slices[0].PixelSpacing
    shared.PixelMeasuresSequence[0].SliceThickness = slices[0].SliceThickness
    mf.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    order = [3, 0, 5, 1, 4, 2]  # frames stored out of order: position decides
    for n in order:
        item = Dataset()
        item.PlanePositionSequence = Sequence([Dataset()])
        item.PlanePositionSequence[0].ImagePositionPatient = slices[n].ImagePositionPatient
        item.PixelValueTransformationSequence = Sequence([Dataset()])
        item.PixelValueTransformationSequence[0].RescaleSlope = 1
        item.PixelValueTransformationSequence[0].RescaleIntercept = -1024
        frames.append(item)
    mf.PerFrameFunctionalGroupsSequence = Sequence(frames)
    mf.PixelData = b"".join(slices[n].pixel_array.tobytes() for n in order)
    path = tmp_path / "enhanced.dcm"
    mf.save_as(path, enforce_file_format=True)

    vol = load_volume(path)
    ref_folder = tmp_path / "ref"
    ref_folder.mkdir()
    for f in files:
        shutil.copy(f, ref_folder / f.name)
    ref = load_volume(ref_folder)
    assert np.array_equal(vol.voxels, ref.voxels)
    assert np.allclose(vol.affine, ref.affine)


def test_single_dicom_file(ct_dir):
    vol = load_volume(ct_dir / "tiny" / "pydicom_CT_small.dcm")
    assert vol.shape == (1, 128, 128)


def test_dicomdir_and_non_image_files_are_skipped(ct_dir, tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(ct_dir / "tiny" / "pydicom_dicomdirtests_CT5N", folder)
    (folder / "README.txt").write_text("study exported from PACS")
    vol = load_volume(folder)
    assert vol.shape == (5, 16, 16)
    assert E.SKIPPED_FILES in codes(vol)


# --- progress and cancel -----------------------------------------------------------------


def test_progress_reaches_the_end(a0002_copy):
    seen = []
    load_volume(a0002_copy, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1]
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_cancel_stops_the_load(a0002_copy):
    cancel = threading.Event()

    def progress(done, total):
        if done >= 2:
            cancel.set()

    with pytest.raises(LoadCancelled):
        load_volume(a0002_copy, progress=progress, cancel=cancel)
