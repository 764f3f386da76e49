"""Uneven spacing and gantry tilt: the regular grid against dcm2niix and against the files' IPP.

Made from the real A0001 chest (64 x 5 mm): slices dropped to give 10 mm then 15 mm steps, and
ImagePositionPatient sheared / ImageOrientationPatient tilted with pydicom to simulate a
tilted gantry. References: dcm2niix's ``_Eq_`` (equidistant) and ``_Tilt_`` corrected output,
and each file's own pixels placed at its own ImagePositionPatient.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from volume_geometry import grid_slices_of_originals, world_to_index

from inference.io import load_volume
from inference.io import errors as E

DCM2NIIX = Path(sys.executable).with_name("dcm2niix")
PIXEL_MM = 0.841796875
WHOLE_SHEAR_MM = 2 * PIXEL_MM  # per 5 mm slice: every slice moves exactly 2 rows
KEEP_UNEVEN = list(range(0, 31, 2)) + list(range(33, 64, 3))  # 10 mm steps, then 15 mm


def _sorted_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir(), key=lambda f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))


def _write(src: list[Path], dst: Path, edit=None) -> Path:
    """Copies of ``src`` in ``dst``, InstanceNumber ascending with z (dcm2niix's tilt origin
    assumes it), each edited by ``edit(ds, z_index)``."""
    dst.mkdir()
    for n, f in enumerate(src):
        ds = pydicom.dcmread(f)
        ds.InstanceNumber = n + 1
        if edit is not None:
            edit(ds, n)
        ds.save_as(dst / f.name)
    return dst


def _shear(mm_per_slice: float):
    def edit(ds, n):
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y + mm_per_slice * n, z]
        ds.GantryDetectorTilt = round(float(np.degrees(np.arctan(mm_per_slice / 5.0))), 2)
    return edit


def _tilt_iop(ds, n):
    t = np.radians(15)
    ds.ImageOrientationPatient = [1, 0, 0, 0, float(np.cos(t)), float(np.sin(t))]
    ds.GantryDetectorTilt = 15


@pytest.fixture(scope="module")
def series(a0001_dicom, tmp_path_factory) -> dict[str, Path]:
    """The edited copies, each beside its dcm2niix conversion in ``<name>_nii/``."""
    root = tmp_path_factory.mktemp("geometry")
    files = _sorted_files(a0001_dicom)
    made = {
        "uneven": _write([files[k] for k in KEEP_UNEVEN], root / "uneven"),
        "shear15": _write(files, root / "shear15", _shear(5.0 * np.tan(np.radians(15)))),
        "shear_whole": _write(files, root / "shear_whole", _shear(WHOLE_SHEAR_MM)),
        "tilted_iop": _write(files, root / "tilted_iop", _tilt_iop),
    }
    for name, folder in made.items():
        out = root / f"{name}_nii"
        out.mkdir()
        subprocess.run([str(DCM2NIIX), "-z", "n", "-f", "out", "-o", str(out), str(folder)], check=True, capture_output=True)
    return made


def _corrected(series, name: str) -> nib.Nifti1Image:
    (path,) = [p for p in (series[name].parent / f"{name}_nii").glob("out_*.nii")]
    return nib.load(str(path))


def _sample(vol, lps: np.ndarray) -> np.ndarray:
    """Trilinear value of ``vol`` at LPS points (N, 3); NaN outside the grid."""
    inv = np.linalg.inv(vol.affine)
    ijk = lps @ inv[:3, :3].T + inv[:3, 3]
    top = np.array(vol.shape[::-1]) - 1
    ijk = np.where(np.abs(ijk - np.rint(ijk)) < 1e-3, np.rint(ijk), ijk)  # float noise at the edges
    inside = np.all((ijk >= 0) & (ijk <= top), axis=1)
    q = ijk[inside]
    f = np.minimum(np.floor(q).astype(int), top - 1)
    t = q - f
    v = vol.voxels.astype(np.float64)
    acc = np.zeros(len(q))
    for di in (0, 1):
        for dj in (0, 1):
            for dk in (0, 1):
                w = np.prod([t[:, a] if d else 1 - t[:, a] for a, d in enumerate((di, dj, dk))], axis=0)
                acc += w * v[f[:, 2] + dk, f[:, 1] + dj, f[:, 0] + di]
    out = np.full(len(lps), np.nan)
    out[inside] = acc
    return out


def _vs_dcm2niix(vol, img: nib.Nifti1Image, shift_lps=(0.0, 0.0, 0.0), n: int = 100_000) -> float:
    """Mean |HU difference| between ``vol`` and a dcm2niix NIfTI at random voxels of the NIfTI,
    compared at the same world point (RAS -> LPS), on the overlap of body (> -1000 HU) voxels."""
    data = np.asanyarray(img.dataobj).astype(np.float64)
    rng = np.random.default_rng(0)
    idx = np.stack([rng.integers(0, s, n) for s in data.shape], axis=1)
    lps = (idx @ img.affine[:3, :3].T + img.affine[:3, 3]) * np.array([-1.0, -1.0, 1.0]) + shift_lps
    ours, theirs = _sample(vol, lps), data[tuple(idx.T)]
    both = ~np.isnan(ours) & (ours > -1000) & (theirs > -1000)
    assert both.sum() > n // 20
    return float(np.abs(ours[both] - theirs[both]).mean())


def _files(folder: Path):
    """(IPP, row cosine, column cosine, HU) of each file, in z order."""
    for f in _sorted_files(folder):
        ds = pydicom.dcmread(f)
        iop = np.array(ds.ImageOrientationPatient, float)
        hu = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
        yield np.array(ds.ImagePositionPatient, float), iop[:3], iop[3:], hu


def _place(vol, ipp: np.ndarray) -> tuple[np.ndarray, float]:
    """Grid index (k, j, i) nearest a file's pixel [0, 0], and its distance in mm."""
    kji = world_to_index(vol, ipp)
    near = np.rint(kji)
    return near.astype(int), float(np.linalg.norm(vol.index_to_world(*near) - ipp))


# --- uneven spacing -------------------------------------------------------------------------


def test_uneven_spacing_is_resampled_to_the_smallest_step(series):
    vol = load_volume(series["uneven"])
    (w,) = [w for w in vol.warnings if w.code == E.UNEVEN_SPACING]
    assert "slice spacing varies from 10.0 to 15.0 mm" in w.message
    assert "regular 10.0 mm grid" in w.message and "original 27 slices are kept" in w.message
    assert E.SLICE_GAP not in {w.code for w in vol.warnings}, "a run of 15 mm steps is a change of spacing, not a gap"
    assert vol.spacing_zyx[0] == pytest.approx(10.0)
    assert vol.shape == (32, 512, 512)  # -439 .. -129 mm; the last file (-124) is 5 mm beyond the grid
    assert np.allclose(np.diff(vol.slice_positions), 10.0)
    assert vol.original is not None and vol.original.voxels.shape == (27, 512, 512)
    assert np.allclose(vol.original_positions, [-439 + 5 * k for k in KEEP_UNEVEN])


def test_uneven_grid_slices_sit_where_the_files_say(series):
    """Every grid slice within 0.5 mm of the files' IPP line; slices on a file equal its pixels."""
    vol = load_volume(series["uneven"])
    files = list(_files(series["uneven"]))
    ipp = np.array([f[0] for f in files])
    for k in range(vol.shape[0]):
        origin = vol.index_to_world(k, 0, 0)
        z = origin[2]
        expected = np.array([np.interp(z, ipp[:, 2], ipp[:, a]) for a in range(3)])  # the files' IPP line
        assert np.linalg.norm(origin - expected) < 0.5
    exact = 0
    for ipp_s, _r, _c, hu in files:
        (k, j, i), dist = _place(vol, ipp_s)
        if dist < 0.5 and 0 <= k < vol.shape[0]:
            assert (j, i) == (0, 0)
            assert np.array_equal(vol.voxels[k], hu), "HU of a slice on the grid must be unchanged"
            exact += 1
    assert exact == 21  # 16 at 10 mm, and every other one of the 15 mm part (-264, -234, ...)


def test_interpolated_slices_match_the_real_slices_that_were_dropped(a0001_volume, series):
    """A grid slice between two kept files is compared with the real 5 mm slice at that place."""
    vol = load_volume(series["uneven"])
    between = [k for k in range(vol.shape[0]) if np.min(np.abs(vol.original_positions - vol.slice_positions[k])) > 1]
    assert len(between) == 11  # 32 grid slices, 21 of them on a file
    interpolated, nearest = [], []
    for k in between:
        z = vol.slice_positions[k]
        truth = a0001_volume.voxels[int(np.argmin(np.abs(a0001_volume.slice_positions - z)))].astype(float)
        near = vol.original.voxels[int(np.argmin(np.abs(vol.original_positions - z)))]
        interpolated.append(np.abs(vol.voxels[k] - truth).mean())
        nearest.append(np.abs(near - truth).mean())
    # linear interpolation across 15 mm of chest beats the nearest kept file, 5 mm away (77 vs 82 HU)
    assert np.mean(interpolated) < np.mean(nearest), (np.mean(interpolated), np.mean(nearest))


def test_uneven_grid_agrees_with_dcm2niix_equidistant_output(series):
    vol = load_volume(series["uneven"])
    img = _corrected(series, "uneven")
    assert "_Eq_" in img.get_filename() and img.shape == (512, 512, 33)  # dcm2niix: 33 x 9.84 mm
    assert _vs_dcm2niix(vol, img) < 15.0  # measured 5.8 HU; dcm2niix's grid is 9.84 mm, ours 10 mm
    plain = nib.load(str(Path(img.get_filename()).with_name("out.nii")))  # uncorrected: 10 mm assumed
    assert _vs_dcm2niix(vol, plain) > 50.0


def test_grid_and_original_slice_indices_map_both_ways(series, a0001_volume):
    """What the heat strip needs: model/grid slices back onto the ORIGINAL slice indices."""
    vol = load_volume(series["uneven"])
    k_orig = np.arange(vol.n_original, dtype=float)
    k_grid = grid_slices_of_originals(vol)
    assert np.allclose(vol.grid_to_original(k_grid), k_orig)
    assert np.allclose(np.interp(k_grid, np.arange(vol.shape[0]), vol.slice_positions)[:-1], vol.original_positions[:-1])
    assert k_grid[16] == pytest.approx(16.5)  # -274 mm lies between grid slices -279 and -269
    assert a0001_volume.original is None and a0001_volume.n_original == 64  # regular: identity
    assert np.array_equal(a0001_volume.grid_to_original([0.0, 5.5]), [0.0, 5.5])


# --- gantry tilt ----------------------------------------------------------------------------


@pytest.mark.parametrize("name, rows, step", [("shear15", 613, 5.0), ("tilted_iop", 609, 5 * np.cos(np.radians(15)))])
def test_tilted_series_are_resampled_along_the_normal(series, name, rows, step):
    vol = load_volume(series[name])
    (w,) = [w for w in vol.warnings if w.code == E.GANTRY_TILT]
    assert "15.0 degrees" in w.message and "shifted in-plane" in w.message and "64 slices are kept" in w.message
    assert vol.shape == (64, rows, 512) == _corrected(series, name).shape[::-1]  # widened as dcm2niix does
    a = vol.affine[:3, :3] / np.array(vol.spacing_zyx[::-1])
    assert np.allclose(a.T @ a, np.eye(3), atol=1e-6), "the grid is orthogonal: no shear left"
    assert vol.spacing_zyx[0] == pytest.approx(step, abs=1e-3)
    assert vol.original.voxels.shape == (64, 512, 512)
    assert np.allclose(vol.original.affine[:3, 2], np.median(np.diff(vol.original.origins, axis=0), axis=0))


@pytest.mark.parametrize("name", ["shear15", "tilted_iop"])
def test_tilted_grid_puts_each_file_at_its_ipp(series, name):
    """Each file's pixels, placed at their own IPP, are found at that world point in the grid."""
    vol = load_volume(series[name])
    errors = []
    for n, (ipp, r, c, hu) in enumerate(_files(series[name])):
        (k, _j, _i), _ = _place(vol, ipp)
        along = (world_to_index(vol, ipp)[0] - k) * vol.spacing_zyx[0]
        assert k == n and abs(along) < 0.5, "each file's plane is a grid slice"
        j, i = np.mgrid[0:512:8, 0:512:8]
        lps = ipp + i.reshape(-1, 1) * r * PIXEL_MM + j.reshape(-1, 1) * c * PIXEL_MM
        ours = _sample(vol, lps)
        inside = ~np.isnan(ours)
        errors.append(np.abs(ours[inside] - hu[j, i].ravel()[inside]).mean())
        if n == 0:  # the reference slice: no shift, an exact copy
            assert np.array_equal(vol.voxels[0, :512, :512], hu)
    # fractional shifts: bilinear here and again in the check (measured about 18 HU)
    assert np.mean(errors) < 30, np.round(errors, 1)


def test_whole_pixel_shear_keeps_every_slice_exact(series):
    """With a shear of exactly 2 rows per slice no value is interpolated: each file is copied."""
    vol = load_volume(series["shear_whole"])
    assert vol.shape == (64, 512 + 2 * 63, 512)
    for n, (ipp, _r, _c, hu) in enumerate(_files(series["shear_whole"])):
        (k, j, i), dist = _place(vol, ipp)
        assert (k, j, i) == (n, 2 * n, 0) and dist < 0.5
        assert np.array_equal(vol.voxels[k, j:j + 512, :], hu)


def test_tilted_grid_agrees_with_dcm2niix_tilt_correction(series):
    vol = load_volume(series["shear15"])
    img = _corrected(series, "shear15")
    assert "_Tilt_" in img.get_filename()
    # dcm2niix's corrected slices sit up to a pixel off the files' IPP (its slice 0 is itself
    # shifted); within +-1 pixel along the shear they agree to interpolation noise
    best = min(_vs_dcm2niix(vol, img, (0.0, dy, 0.0), n=40_000) for dy in np.arange(-1.0, 1.01, 0.25))
    assert best < 30.0  # measured 18.7 HU at -0.5 mm (63 HU with no offset)


def test_tilted_iop_content_agrees_with_dcm2niix_voxel_for_voxel(series):
    """Same voxels as dcm2niix's _Tilt_ output (in index space: its origin for a tilted IOP lies
    142 mm from the files' IPP, so a world comparison would test dcm2niix's affine, not ours)."""
    vol = load_volume(series["tilted_iop"])
    img = _corrected(series, "tilted_iop")
    theirs = np.asanyarray(img.dataobj)[:, ::-1, :].transpose(2, 1, 0)  # to [k, j, i], rows posterior
    diff = [np.abs(vol.voxels[k].astype(float) - theirs[k]).mean() for k in (0, 16, 32, 48, 63)]
    assert max(diff) < 25.0, np.round(diff, 1)


def test_model_slice_scores_map_back_onto_the_stored_slices(series):
    """The heat strip's map goes to the files' slices, not to the grid's."""
    from inference.preprocess import RECIPES, preprocess

    vol = load_volume(series["uneven"])
    slice_map = preprocess(vol, RECIPES["m3d"]).slice_map
    assert slice_map.n_original == vol.n_original == len(KEEP_UNEVEN) < vol.shape[0]
    for j in (3, 16, 28):  # a one-hot score on model slice j peaks at the stored slice it sees
        scores = np.zeros(slice_map.n_model)
        scores[j] = 1.0
        peak = int(np.nanargmax(slice_map.to_original(scores)))
        assert abs(peak - slice_map.model_to_original[j]) <= 1.0
