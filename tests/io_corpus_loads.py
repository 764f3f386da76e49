"""Corpus cases that load: with the warning the user must see, or valid but unusual input.

Registered into :data:`io_corpus.CASES` when :mod:`io_corpus` is imported.
"""

from __future__ import annotations

import shutil

import nibabel as nib
import numpy as np
import pydicom
from pydicom.uid import generate_uid

from io_corpus import CT5N, J2K, SMALL_NIFTI, case, edit, series_copy, set_ipp, small_nifti


# --- problems the loader reports ---------------------------------------------------------


@case("warning", "skipped_files")
def nan_rescale_slope_in_one_slice(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: setattr(ds, "RescaleSlope", "NaN"), slice(2, 3))


@case("warning", "skipped_files")
def infinite_intercept_in_one_slice(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: setattr(ds, "RescaleIntercept", "inf"), slice(4, 5))


@case("warning", "non_finite")
def nifti_with_nan_voxels(folder, data):
    arr = np.asanyarray(nib.load(str(data / SMALL_NIFTI)).dataobj).astype(np.float32)
    arr[10:20, 10:20, 3] = np.nan
    return small_nifti(folder, data, arr)


@case("warning", "non_finite")
def nifti_with_infinite_voxels(folder, data):
    arr = np.asanyarray(nib.load(str(data / SMALL_NIFTI)).dataobj).astype(np.float32)
    arr[0, 0, :] = np.inf
    return small_nifti(folder, data, arr)


@case("warning", "missing_geometry")
def nifti_all_zero_affine(folder, data):
    path = small_nifti(folder, data)
    img = nib.load(str(path))
    img.header.set_sform(np.zeros((4, 4)), code=1)
    img.header.set_qform(None, code=0)
    nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj), None, img.header), path)
    return path


@case("error", "holds 2 CT series, choose one")
def mixed_orientations_one_series(folder, data):
    def coronal(ds, n):
        ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]

    return edit(series_copy(folder, data), coronal, slice(0, 1))  # split: 5 axial, 1 coronal


@case("ok", "mixed_orientations")
def orientation_differs_in_the_4th_decimal(folder, data):
    def jitter(ds, n):
        ds.ImageOrientationPatient = [1, 0.0004 + 0.0002 * (n % 2), 0, 0, 1, 0]  # rounds to 0 / 0.001

    return edit(series_copy(folder, data), jitter)


@case("warning", "missing_geometry")
def orientation_not_orthogonal(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: setattr(ds, "ImageOrientationPatient", [1, 0, 0, 1, 0, 0]))


@case("warning", "missing_geometry")
def one_slice_without_position(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: delattr(ds, "ImagePositionPatient"), slice(3, 4))


@case("warning", "missing_geometry")
def one_slice_with_a_zero_orientation(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: setattr(ds, "ImageOrientationPatient", [0] * 6), slice(1, 2))


@case("warning", "missing_geometry")
def no_position_anywhere(folder, data):
    def strip(ds, n):
        del ds.ImagePositionPatient
        del ds.ImageOrientationPatient

    return edit(series_copy(folder, data), strip)


@case("warning", "missing_geometry")
def no_pixel_spacing(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: delattr(ds, "PixelSpacing"))


@case("warning", "missing_geometry")
def zero_pixel_spacing(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: setattr(ds, "PixelSpacing", [0, 0]))


@case("warning", "uneven_spacing")
def spacing_changes_midway(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: set_ipp(ds, z=8.0 * min(n, 3) + 14.0 * max(n - 3, 0)))


@case("warning", "slice_gap")
def one_slice_missing(folder, data):
    series = series_copy(folder, data)
    sorted(series.iterdir())[3].unlink()
    return series


@case("warning", "duplicate_positions")
def duplicate_slice(folder, data):
    series = series_copy(folder, data)
    src = sorted(series.iterdir())[2]
    ds = pydicom.dcmread(src)
    ds.SOPInstanceUID = generate_uid()
    ds.save_as(series / "copy_of_slice.dcm")
    return series


@case("warning", "gantry_tilt")
def gantry_tilt(folder, data):
    def shear(ds, n):
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y + np.tan(np.radians(12)) * z, z]
        ds.GantryDetectorTilt = 12

    return edit(series_copy(folder, data), shear)


@case("warning", "not_ct")
def mr_modality(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: setattr(ds, "Modality", "MR"))


@case("warning", "implausible_hu")
def missing_rescale_intercept(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: setattr(ds, "RescaleIntercept", 0))


@case("warning", "implausible_hu")
def blank_image(folder, data):
    return edit(series_copy(folder, data, 3), lambda ds, n: setattr(ds, "PixelData", bytes(len(ds.PixelData))))


@case("warning", "missing_pixel_data")
def pixel_data_missing_in_one_slice(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: delattr(ds, "PixelData"), slice(2, 3))


@case("error", "holds 2 CT series, choose one")
def one_slice_of_another_size(folder, data):
    def crop(ds, n):
        ds.PixelData = ds.pixel_array[:256, :256].copy().tobytes()
        ds.Rows = ds.Columns = 256

    return edit(series_copy(folder, data), crop, slice(0, 1))


@case("warning", "skipped_files")
def truncated_file_in_the_series(folder, data):
    series = series_copy(folder, data)
    path = sorted(series.iterdir())[3]
    path.write_bytes(path.read_bytes()[:700])
    return series


@case("warning", "skipped_files")
def report_beside_the_series(folder, data):
    series = series_copy(folder, data)
    ds = pydicom.dcmread(sorted(series.iterdir())[0])
    for kw in ("PixelData", "Rows", "Columns"):
        delattr(ds, kw)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"  # enhanced structured report
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.SOPInstanceUID = generate_uid()
    ds.save_as(series / "report.dcm")
    return series


@case("warning", "skipped_files")
def text_files_beside_the_series(folder, data):
    series = series_copy(folder, data)
    (series / "README.txt").write_text("exported from PACS")
    return series


@case("warning", "skipped_files")
def dicomdir_folder(folder, data):
    shutil.copytree(data / CT5N, folder / "study")
    (folder / "study" / "notes.txt").write_text("study notes")
    return folder / "study"


# --- valid but unusual input -------------------------------------------------------------


@case("ok")
def single_slice(folder, data):
    return sorted(series_copy(folder, data, 1).iterdir())[0]


@case("ok")
def single_non_square_slice(folder, data):
    def crop(ds, n):
        ds.PixelData = ds.pixel_array[:, :300].copy().tobytes()
        ds.Columns = 300

    return sorted(edit(series_copy(folder, data, 1), crop).iterdir())[0]


@case("ok")
def one_row_images(folder, data):
    def row(ds, n):
        ds.PixelData = ds.pixel_array[256:257].copy().tobytes()
        ds.Rows = 1

    return edit(series_copy(folder, data, 4), row)


@case("ok")
def instance_numbers_reversed(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: setattr(ds, "InstanceNumber", 100 - n))


@case("ok")
def sagittal_acquisition(folder, data):
    def sagittal(ds, n):
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
        ds.ImagePositionPatient = [-100.0 + 8.0 * n, -200.0, 150.0]

    return edit(series_copy(folder, data, 4), sagittal)


@case("ok")
def nan_header_numbers(folder, data):
    def nan_kvp(ds, n):
        ds.KVP = "NaN"
        ds.WindowCenter = "NaN"

    return edit(series_copy(folder, data, 3), nan_kvp)


@case("ok")
def jpeg2000_series(folder, data):
    # 6, not 3-4: a 3-4 slice slab of this series crashes VTK 9.7.2's CPU ray caster (open)
    return series_copy(folder, data, 6, src=J2K)


@case("ok")
def series_in_nested_folders(folder, data):
    series = series_copy(folder, data)
    for n, f in enumerate(sorted(series.iterdir())):
        sub = series / f"part{n % 2}"
        sub.mkdir(exist_ok=True)
        f.rename(sub / f.name)
    return series


@case("ok")
def nifti_float_values(folder, data):
    arr = np.asanyarray(nib.load(str(data / SMALL_NIFTI)).dataobj).astype(np.float32) + 0.25
    return small_nifti(folder, data, arr)


@case("ok")
def nifti_single_slice(folder, data):
    arr = np.asanyarray(nib.load(str(data / SMALL_NIFTI)).dataobj)[:, :, 4:5]
    return small_nifti(folder, data, np.ascontiguousarray(arr))
