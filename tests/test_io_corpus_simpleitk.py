"""The loader against SimpleITK on the bad-input corpus (tests/io_corpus.py).

Every corpus case our loader loads is read again with SimpleITK (GDCM series reader for DICOM
folders, picking the series our loader chose; ``ReadImage`` for single files) and compared:
voxel values exactly, origin, spacing and direction. SimpleITK's image is brought to our
[k, j, i] LPS index order with ``DICOMOrient``. Where our loader resampled (``Volume.original``)
the stored slices are compared, each with the SimpleITK slice at the same ImagePositionPatient.
Cases where the two differ for a known reason are listed in :data:`KNOWN` with that reason and
the difference itself is checked, so a change on either side shows up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from inference.io import Volume, list_series, load_volume
from inference.io.loader import default_series

from io_corpus import CASES, build_corpus

NO_UID = "(no series UID)"  # our key for a series without SeriesInstanceUID; GDCM's is ""
IPP = "0020|0032"

# name -> (kind of difference, why it is correct)
KNOWN: dict[str, tuple[str, str]] = {
    "nifti_all_zero_affine": (
        "unreadable", "ITK refuses an all-zero affine; our loader warns and assumes 1 mm axes"),
    "duplicate_slice": (
        "extra_slice", "SimpleITK stacks the re-sent duplicate slice twice; ours keeps one copy"),
    "nan_rescale_slope_in_one_slice": (
        "extra_slice", "our loader skips the slice whose RescaleSlope is NaN; SimpleITK stacks it"),
    "infinite_intercept_in_one_slice": (
        "extra_slice", "our loader skips the slice whose RescaleIntercept is inf; SimpleITK stacks it"),
    "one_slice_without_position": (
        "extra_slice", "our loader skips the slice without ImagePositionPatient; SimpleITK stacks it"),
    "one_slice_with_a_zero_orientation": (
        "extra_slice", "our loader skips the slice with a zero orientation; SimpleITK stacks it"),
    "nifti_with_nan_voxels": (
        "non_finite", "our loader sets NaN voxels to the lowest value (and warns); SimpleITK reads 0"),
    "nifti_with_infinite_voxels": (
        "non_finite", "our loader sets infinite voxels to the lowest value (and warns); SimpleITK reads 0"),
    "no_position_anywhere": (
        "slice_spacing", "without positions SimpleITK assumes 1 mm between slices; "
        "ours takes SliceThickness"),
    "single_slice": (
        "slice_spacing", "SimpleITK gives a lone slice 1 mm depth; ours takes SliceThickness"),
    "single_non_square_slice": (
        "slice_spacing", "SimpleITK gives a lone slice 1 mm depth; ours takes SliceThickness"),
    "orientation_not_orthogonal": (
        "reordered", "our loader rejects the non-orthogonal orientation and falls back on InstanceNumber "
        "order (here against position) with origin 0; SimpleITK keeps the positions"),
    "one_row_images": (
        "one_row", "SimpleITK reads 1-row images as 1-D lines and stacks them along its y axis"),
}
LOADABLE = [c.name for c in CASES if c.expect != "error"]
MIN_COMPARED = 20  # cases compared in full (no known difference), so the test cannot pass empty


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, ct_dir):
    sitk.ProcessObject_SetGlobalWarningDisplay(False)  # ITK warns on every odd series; we check instead
    return build_corpus(tmp_path_factory.mktemp("corpus_sitk"), ct_dir)


def read_with_sitk(path: Path) -> tuple[sitk.Image, list[np.ndarray | None]]:
    """SimpleITK's image of ``path`` and each slice's ImagePositionPatient (None where absent).

    For a folder, the series our loader chose by default, found recursively like ours.
    """
    if path.is_file():
        return sitk.ReadImage(str(path)), []
    uid = default_series(list_series(path)).uid.split("#")[0]
    gdcm_uid = "" if uid.startswith(NO_UID) else uid
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(path), gdcm_uid, False, True)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    image = reader.Execute()
    return image, [_position(reader, n) for n in range(len(files))]


def _position(reader: sitk.ImageSeriesReader, n: int) -> np.ndarray | None:
    """ImagePositionPatient of the reader's ``n``-th file, None when it has none."""
    if not reader.HasMetaDataKey(n, IPP):
        return None
    return np.array([float(v) for v in reader.GetMetaData(n, IPP).split("\\")])


def our_direction(vol: Volume) -> np.ndarray:
    """The unit index axes (columns i, j, k) of our affine."""
    m = vol.affine[:3, :3]
    return m / np.linalg.norm(m, axis=0)


def stored_slices(vol: Volume) -> tuple[np.ndarray, np.ndarray]:
    """Our slices as stored and the LPS position of each one's voxel [0, 0]."""
    if vol.original is not None:
        return vol.original.voxels, vol.original.origins
    k = np.arange(vol.shape[0])
    origins = (vol.affine @ np.stack([0 * k, 0 * k, k, 1 + 0 * k]))[:3].T
    return vol.voxels, origins


def assert_same_grid(vol: Volume, img: sitk.Image, *, check_k_spacing: bool = True) -> None:
    """Origin, direction and spacing of our volume equal SimpleITK's (reoriented) image."""
    np.testing.assert_allclose(img.GetOrigin(), vol.affine[:3, 3], atol=1e-4)
    np.testing.assert_allclose(np.reshape(img.GetDirection(), (3, 3)), our_direction(vol), atol=1e-3)
    theirs, ours = np.array(img.GetSpacing())[::-1], np.array(vol.spacing_zyx)
    first = 0 if check_k_spacing else 1
    np.testing.assert_allclose(theirs[first:], ours[first:], rtol=1e-6)


def assert_equal_voxels(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours.astype(np.float64), theirs.astype(np.float64))


def compare_whole(vol: Volume, img: sitk.Image, kind: str) -> None:
    """No resampling on our side: the whole volume, voxel for voxel, and its grid."""
    lps = sitk.DICOMOrient(img, "LPS")
    theirs = sitk.GetArrayFromImage(lps)
    if kind == "non_finite":  # ours: the image's lowest value; ITK's NIfTI reader gives 0
        differ = vol.voxels != theirs
        assert differ.any() and np.all(vol.voxels[differ] == vol.voxels.min()) and np.all(theirs[differ] == 0)
        assert_equal_voxels(vol.voxels[~differ], theirs[~differ])
    else:
        assert_equal_voxels(vol.voxels, theirs)
    assert_same_grid(vol, lps, check_k_spacing=kind != "slice_spacing")
    if kind == "slice_spacing":
        assert lps.GetSpacing()[2] == 1.0 and vol.spacing_zyx[0] != 1.0


def compare_slices(vol: Volume, img: sitk.Image, positions: list, kind: str) -> None:
    """Our stored slices, each against SimpleITK's slice at the same ImagePositionPatient.

    SimpleITK's slice order, origin and slice step are not compared: for uneven or missing
    slices it has one step for all, and a slice without a position goes first at (0, 0, 0).
    """
    lps = sitk.DICOMOrient(img, "LPS")
    raw_dir, lps_dir = (np.reshape(d.GetDirection(), (3, 3)) for d in (img, lps))
    assert np.allclose(raw_dir[:, :2], lps_dir[:, :2]), "rows and columns are stored in LPS order"
    theirs = sitk.GetArrayFromImage(img)
    voxels, origins = stored_slices(vol)
    assert len(theirs) == len(voxels) + (kind == "extra_slice")
    for ours, origin in zip(voxels, origins):
        at = [n for n, p in enumerate(positions) if p is not None and np.allclose(p, origin, atol=1e-3)]
        assert at, f"no SimpleITK slice at {origin}"
        assert_equal_voxels(ours, theirs[at[0]])
    np.testing.assert_allclose(lps_dir[:, :2], our_direction(vol)[:, :2], atol=1e-3)
    np.testing.assert_allclose(img.GetSpacing()[:2], vol.spacing_zyx[:0:-1], rtol=1e-6)


def compare_known_layout(vol: Volume, img: sitk.Image, kind: str) -> None:
    """The cases where SimpleITK lays the same stored values out differently."""
    theirs = sitk.GetArrayFromImage(img)
    if kind == "reordered":
        assert_equal_voxels(vol.voxels, theirs[::-1])
        assert np.allclose(vol.affine[:3, 3], 0) and not np.allclose(img.GetOrigin(), 0)
    elif kind == "one_row":
        assert theirs.shape == (1, vol.shape[0], vol.shape[2]) and vol.shape[1] == 1
        assert_equal_voxels(vol.voxels[:, 0, :], theirs[0])
        np.testing.assert_allclose(img.GetSpacing()[:2], [vol.spacing_zyx[2], vol.spacing_zyx[0]], rtol=1e-6)
    else:
        raise AssertionError(f"no comparison for {kind}")


def test_known_differences_name_corpus_cases_that_load():
    assert set(KNOWN) <= set(LOADABLE)
    assert len(set(LOADABLE) - set(KNOWN)) >= MIN_COMPARED


@pytest.mark.parametrize("name", LOADABLE)
def test_our_loader_agrees_with_simpleitk(corpus, name):
    _case, path = corpus[name]
    vol = load_volume(path)
    kind, _reason = KNOWN.get(name, ("", ""))
    if kind == "unreadable":
        with pytest.raises(RuntimeError):
            read_with_sitk(path)
        return
    img, positions = read_with_sitk(path)
    if kind in ("reordered", "one_row"):
        compare_known_layout(vol, img, kind)
    elif vol.original is not None or kind == "extra_slice":
        compare_slices(vol, img, positions, kind)
    else:
        compare_whole(vol, img, kind)
