"""Missing slices and repeated images, made from the real A0001 chest (64 x 5 mm) with pydicom.

A gap is resampled onto the regular 5 mm grid (the missing slices interpolated between their
neighbours, as 3D Slicer's acquisition geometry regularisation does), so every displayed slice
sits where its file says; an image stored twice is loaded once; two different images at one
position are refused with a sentence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid
from volume_geometry import grid_slices_of_originals, world_to_index

from inference.io import CTLoadError, load_volume
from inference.io import errors as E

DROPPED = [20, 40, 41, 42]  # one slice missing after slice 19, three after slice 39


def _sorted_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir(), key=lambda f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))


def _copy(files: list[Path], dst: Path) -> Path:
    dst.mkdir()
    for f in files:
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _hu(f: Path) -> np.ndarray:
    ds = pydicom.dcmread(f)
    return ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)


@pytest.fixture(scope="module")
def files(a0001_dicom) -> list[Path]:
    return _sorted_files(a0001_dicom)


@pytest.fixture(scope="module")
def gapped(files, tmp_path_factory) -> tuple[Path, object]:
    folder = _copy([f for k, f in enumerate(files) if k not in DROPPED], tmp_path_factory.mktemp("gap") / "series")
    return folder, load_volume(folder)


def test_gaps_are_filled_on_the_regular_grid_and_said_plainly(gapped):
    _folder, vol = gapped
    (w,) = [w for w in vol.warnings if w.code == E.SLICE_GAP]
    assert "1 slice was missing between slice 20 and slice 22" in w.message
    assert "3 slices were missing between slice 40 and slice 44" in w.message
    assert "interpolation" in w.message and "for display and the model" in w.message
    assert "original 60 slices are kept" in w.message
    assert w.slices == tuple(DROPPED), "the interpolated (displayed) slices are named"
    assert vol.shape == (64, 512, 512) and vol.spacing_zyx[0] == pytest.approx(5.0)
    assert np.allclose(np.diff(vol.slice_positions), 5.0)
    assert E.UNEVEN_SPACING not in {w.code for w in vol.warnings}


def test_every_displayed_slice_sits_where_its_file_says(gapped, files):
    """Each kept file is a grid slice within 0.5 mm of its IPP, with its HU unchanged; every grid
    slice lies on the files' IPP line."""
    folder, vol = gapped
    kept = _sorted_files(folder)
    ipp = np.array([pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient for f in kept], float)
    for k in range(vol.shape[0]):
        origin = vol.index_to_world(k, 0, 0)
        line = np.array([np.interp(origin[2], ipp[:, 2], ipp[:, a]) for a in range(3)])
        assert np.linalg.norm(origin - line) < 0.5
    for n, f in enumerate(kept):
        kji = world_to_index(vol, ipp[n])
        k = int(np.rint(kji[0]))
        assert np.linalg.norm(vol.index_to_world(k, 0, 0) - ipp[n]) < 0.5
        assert np.allclose(kji[1:], 0.0, atol=1e-6)
        assert np.array_equal(vol.voxels[k], _hu(f)), f"file {n} must be shown unchanged at its place"
        assert np.array_equal(vol.original.voxels[n], _hu(f)), "the stored slices are kept"
    assert vol.original.voxels.shape == (60, 512, 512)
    assert np.allclose(vol.original.origins, ipp)


def test_missing_slices_are_the_linear_interpolation_of_their_neighbours(gapped, a0001_volume):
    _folder, vol = gapped
    v = vol.voxels.astype(np.float32)
    assert np.array_equal(vol.voxels[20], np.rint(v[19] * 0.5 + v[21] * 0.5).astype(np.int16))
    for k, w in zip((40, 41, 42), (0.25, 0.5, 0.75)):
        expected = v[39] * np.float32(1 - w) + v[43] * np.float32(w)
        assert np.abs(vol.voxels[k] - expected).max() <= 1.0  # rounded to int16
    # nearer the real (dropped) slice than either neighbour is
    truth = a0001_volume.voxels.astype(np.float32)
    for k in DROPPED:
        assert np.abs(v[k] - truth[k]).mean() < min(np.abs(v[k - 1] - truth[k]).mean(), np.abs(v[k + 1] - truth[k]).mean()) + 1


def test_slice_scores_map_back_onto_the_stored_slices(gapped):
    from inference.preprocess import RECIPES, preprocess

    _folder, vol = gapped
    assert vol.n_original == 60
    assert vol.grid_to_original([19.0, 20.0, 21.0, 39.0, 41.0, 43.0]) == pytest.approx([19, 19.5, 20, 38, 38.5, 39])
    assert np.allclose(grid_slices_of_originals(vol), [k for k in range(64) if k not in DROPPED])
    slice_map = preprocess(vol, RECIPES["m3d"]).slice_map
    assert slice_map.n_original == 60
    for j in range(0, slice_map.n_model, 5):  # a one-hot model-slice score peaks at the stored slice it sees
        scores = np.zeros(slice_map.n_model)
        scores[j] = 1.0
        peak = int(np.nanargmax(slice_map.to_original(scores)))
        assert abs(peak - slice_map.model_to_original[j]) <= 1.0
    stored = vol.as_stored()
    assert stored.shape == (60, 512, 512) and E.AS_STORED in {w.code for w in stored.warnings}


def test_the_real_gap_of_the_monai_head_is_filled(ct_dir):
    """The MONAI crop: slices 18 and 180-182 of a 1.25 mm head: 161 missing."""
    vol = load_volume(ct_dir / "tiny" / "monai_CT_DICOM_16x16")
    (w,) = [w for w in vol.warnings if w.code == E.SLICE_GAP]
    assert "161 slices were missing between slice 1 and slice 163 (202.50 mm apart)" in w.message
    assert vol.shape == (165, 16, 16) and vol.n_original == 4
    assert np.allclose(grid_slices_of_originals(vol), [0, 162, 163, 164])


def test_an_image_stored_twice_is_loaded_once(files, tmp_path, a0001_volume):
    folder = _copy(files, tmp_path / "series")
    ds = pydicom.dcmread(files[30])
    ds.SOPInstanceUID = generate_uid()  # re-sent under a new instance UID: same pixels, same place
    ds.save_as(folder / "resent.dcm")
    vol = load_volume(folder)
    (w,) = [w for w in vol.warnings if w.code == E.DUPLICATE_POSITIONS]
    assert "1 image of this series is stored twice" in w.message and "loaded once" in w.message
    assert E.SLICE_GAP not in {w.code for w in vol.warnings} and vol.original is None
    assert np.array_equal(vol.voxels, a0001_volume.voxels)
    assert np.allclose(vol.affine, a0001_volume.affine)
    assert vol.metadata["n_images"] == 64


def test_different_images_at_one_position_are_refused(files, tmp_path):
    folder = _copy(files, tmp_path / "series")
    ds = pydicom.dcmread(folder / files[31].name)
    ds.ImagePositionPatient = pydicom.dcmread(files[30], stop_before_pixels=True).ImagePositionPatient
    ds.save_as(folder / files[31].name)
    numbers = sorted(int(pydicom.dcmread(files[k], stop_before_pixels=True).InstanceNumber) for k in (30, 31))
    with pytest.raises(CTLoadError) as err:
        load_volume(folder)
    message = str(err.value)
    assert all(f"image {n}" in message for n in numbers), message
    assert "same position" in message and "cannot be shown as one volume" in message


def test_as_stored_says_only_that_the_slices_are_not_resampled(ct_dir):
    """``ctchat view --as-stored``: the grid's "filled ... for display" warning is untrue of the
    stored slices; the one note names what the files have instead."""
    vol = load_volume(ct_dir / "tiny" / "monai_CT_DICOM_16x16")
    stored = vol.as_stored()
    assert stored.shape[0] == 4
    (note,) = [w for w in stored.warnings if w.code == E.AS_STORED]
    assert "not resampled" in note.message and "missing slices" in note.message
    assert E.SLICE_GAP not in {w.code for w in stored.warnings}
    assert not [w for w in stored.warnings if "resampled to" in w.message or "for display" in w.message]
