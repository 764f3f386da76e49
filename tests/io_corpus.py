"""A corpus of real-scan inputs, damaged or edited the ways scanner exports and copies go wrong.

Every case is built from ``../shared/data/ct`` into a folder of its own and says what a user
must get: ``error`` (one sentence matching ``match``), ``warning`` (the volume loads with the
warning code ``match``) or ``ok`` (it loads; ``match``, when set, is a code that must NOT be
there). The same corpus goes through the loader, ``ctchat ask`` and the viewer's loader.
"""

from __future__ import annotations

import gzip
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

SERIES = Path("dicom") / "chest_lungdx_A0002_8mm"
J2K = Path("dicom") / "upperabd_totalseg_j2k_20sl"
CT5N = Path("tiny") / "pydicom_dicomdirtests_CT5N"
SMALL_NIFTI = Path("nifti") / "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

# what a message for a user never holds: a traceback, a type name, a source location
NOT_A_SENTENCE = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception)\b|File \"|line \d+, in ")


@dataclass(frozen=True)
class Case:
    """One corpus entry: how to build it, and what the user must get."""

    name: str
    build: Callable[[Path, Path], Path]  # (empty case folder, CT data root) -> path to open
    expect: str  # "error", "warning" or "ok"
    match: str = ""


CASES: list[Case] = []


def case(expect: str, match: str = "") -> Callable:
    def register(build: Callable[[Path, Path], Path]) -> Callable:
        CASES.append(Case(build.__name__, build, expect, match))
        return build

    return register


def build_corpus(root: Path, data: Path) -> dict[str, tuple[Case, Path]]:
    """Build every case under ``root``; name -> (case, path to open)."""
    built = {}
    for c in CASES:
        folder = root / c.name
        folder.mkdir(parents=True)
        built[c.name] = (c, c.build(folder, data))
    return built


def is_sentence(message: str) -> bool:
    """One line for a person: no traceback, no exception type name."""
    return bool(message.strip()) and "\n" not in message.strip() and not NOT_A_SENTENCE.search(message)


# --- helpers -----------------------------------------------------------------------------


def series_copy(folder: Path, data: Path, n: int = 6, src: Path = SERIES, name: str = "series") -> Path:
    """The first ``n`` files of a real series, copied into ``folder/name``."""
    dst = folder / name
    dst.mkdir()
    for f in sorted((data / src).iterdir())[:n]:
        shutil.copy(f, dst / f.name)
    return dst


def edit(series: Path, fn: Callable[[Dataset, int], None], which: slice = slice(None)) -> Path:
    """Apply ``fn(dataset, index)`` to the sorted files of ``series`` and save them."""
    for n, path in enumerate(sorted(series.iterdir())[which]):
        ds = pydicom.dcmread(path)
        fn(ds, n)
        ds.save_as(path)
    return series


def derived_images(folder: Path, data: Path, n: int, fn: Callable[[Dataset, int], None], name: str) -> Path:
    """``n`` images of one new series made from real slices and edited by ``fn``."""
    uid = generate_uid()
    series = series_copy(folder, data, n, name=name)

    def derive(ds: Dataset, k: int) -> None:
        ds.SeriesInstanceUID = uid
        ds.SOPInstanceUID = generate_uid()
        fn(ds, k)

    return edit(series, derive)


def set_ipp(ds: Dataset, x: float | None = None, y: float | None = None, z: float | None = None) -> None:
    old = [float(v) for v in ds.ImagePositionPatient]
    ds.ImagePositionPatient = [old[0] if x is None else x, old[1] if y is None else y, old[2] if z is None else z]


def localizer(ds: Dataset, _k: int) -> None:
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.SeriesDescription = "Scout"
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    ds.PixelData = ds.pixel_array[:256].tobytes()
    ds.Rows = 256


def rgb(ds: Dataset, _k: int) -> None:
    grey = np.clip(ds.pixel_array / 8, 0, 255).astype(np.uint8)
    ds.PixelData = np.repeat(grey[..., None], 3, axis=-1).tobytes()
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0


def secondary_capture(ds: Dataset, _k: int) -> None:
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.file_meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    ds.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]


def small_nifti(folder: Path, data: Path, values: np.ndarray | None = None, affine=None) -> Path:
    img = nib.load(str(data / SMALL_NIFTI))
    arr = np.asanyarray(img.dataobj) if values is None else values
    path = folder / "scan.nii.gz"
    nib.save(nib.Nifti1Image(arr, img.affine if affine is None else affine), path)
    return path


# --- unreadable input --------------------------------------------------------------------


@case("error", "no such file or folder")
def missing_path(folder, data):
    return folder / "nowhere"


@case("error", "folder is empty")
def empty_folder(folder, data):
    return folder


@case("error", "folder is empty")
def hidden_files_only(folder, data):
    (folder / ".DS_Store").write_bytes(b"\0" * 64)
    return folder


@case("error", r"empty \(0 bytes\)")
def zero_byte_file(folder, data):
    (folder / "empty.dcm").write_bytes(b"")
    return folder / "empty.dcm"


@case("error", "not a DICOM file")
def text_file(folder, data):
    (folder / "notes.txt").write_text("findings: none\n" * 20)
    return folder / "notes.txt"


@case("error", "no DICOM images among 3 file")
def folder_of_photos(folder, data):
    for n in range(3):
        (folder / f"photo{n}.jpg").write_bytes(bytes(range(256)) * 4)
    return folder


@case("error", "truncated")
def truncated_dicom(folder, data):
    path = sorted(series_copy(folder, data, 1).iterdir())[0]
    path.write_bytes(path.read_bytes()[:300_000])
    return path


@case("error", "damaged or truncated")
def truncated_dicom_header(folder, data):
    path = sorted(series_copy(folder, data, 1).iterdir())[0]
    path.write_bytes(path.read_bytes()[:700])
    return path


@case("error", "truncated or damaged|not a readable NIfTI")
def truncated_nifti(folder, data):
    src = (data / SMALL_NIFTI).read_bytes()
    (folder / "cut.nii.gz").write_bytes(src[: len(src) // 2])
    return folder / "cut.nii.gz"


@case("error", "not a readable NIfTI")
def text_named_nifti(folder, data):
    (folder / "scan.nii.gz").write_bytes(gzip.compress(b"not an image"))
    return folder / "scan.nii.gz"


@case("error", "not a readable NIfTI")
def dicom_named_nifti(folder, data):
    src = sorted((data / SERIES).iterdir())[0]
    shutil.copy(src, folder / "scan.nii")
    return folder / "scan.nii"


@case("error", "3 dimensions")
def nifti_4d(folder, data):
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 4, 3), np.int16), np.eye(4)), folder / "t.nii.gz")
    return folder / "t.nii.gz"


@case("error", "holds no voxels")
def nifti_zero_size_dimension(folder, data):
    nib.save(nib.Nifti1Image(np.zeros((8, 0, 4), np.int16), np.eye(4)), folder / "t.nii.gz")
    return folder / "t.nii.gz"


@case("error", "a point or a line")
def nifti_one_voxel(folder, data):
    nib.save(nib.Nifti1Image(np.full((1, 1, 1), -1000, np.int16), np.eye(4)), folder / "t.nii.gz")
    return folder / "t.nii.gz"


@case("error", "a point or a line")
def nifti_one_line(folder, data):
    nib.save(nib.Nifti1Image(np.full((1, 1, 40), -1000, np.int16), np.eye(4)), folder / "t.nii.gz")
    return folder / "t.nii.gz"


@case("error", "no voxel of this image holds a number")
def nifti_all_nan(folder, data):
    return small_nifti(folder, data, np.full((20, 20, 8), np.nan, np.float32))


@case("error", "has pixel data")
def no_pixel_data_anywhere(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: delattr(ds, "PixelData"))


@case("error", "not a finite number")
def nan_rescale_slope_everywhere(folder, data):
    return edit(series_copy(folder, data), lambda ds, n: setattr(ds, "RescaleSlope", "NaN"))


@case("error", "header does not describe this image")
def pixel_data_longer_than_the_image(folder, data):
    def longer(ds, n):
        ds.PixelData = ds.PixelData + ds.PixelData[: 2 * 512 * 64]

    return edit(series_copy(folder, data, 3), longer)


@case("error", "truncated|does not describe")
def rows_larger_than_the_pixel_data(folder, data):
    return edit(series_copy(folder, data, 3), lambda ds, n: setattr(ds, "Rows", 640))


@case("error", "GiB of memory is available|truncated")
def declared_size_beyond_memory(folder, data):
    def huge(ds, n):
        ds.Rows, ds.Columns = 65535, 65535

    return edit(series_copy(folder, data, 12), huge)  # 103 GB declared


# --- what is not a CT volume -------------------------------------------------------------


@case("error", "lie at one position")
def summary_pages_at_one_position(folder, data):
    def same_place(ds, n):
        ds.ImageType = ["DERIVED", "SECONDARY", "REF_IMAGE"]
        set_ipp(ds, z=0.0)

    return derived_images(folder, data, 3, same_place, "summary")


@case("error", "same position .* hold different images")
def two_images_at_one_position(folder, data):
    series = series_copy(folder, data)
    first, second = sorted(series.iterdir())[2:4]
    ds = pydicom.dcmread(second)
    ds.ImagePositionPatient = pydicom.dcmread(first).ImagePositionPatient
    ds.save_as(second)
    return series


@case("warning", "other_series")
def summary_pages_beside_the_volume(folder, data):
    series_copy(folder, data)

    def same_place(ds, n):
        set_ipp(ds, z=0.0)

    derived_images(folder, data, 3, same_place, "summary")
    return folder


@case("error", "localizer")
def localizer_only(folder, data):
    return derived_images(folder, data, 1, localizer, "scout")


@case("warning", "other_series")
def localizer_beside_the_volume(folder, data):
    series_copy(folder, data)
    derived_images(folder, data, 1, localizer, "scout")
    return folder


@case("warning", "other_series")
def secondary_capture_beside_the_volume(folder, data):
    series_copy(folder, data)
    derived_images(folder, data, 1, secondary_capture, "capture")
    return folder


@case("error", "colour screen capture")
def rgb_secondary_capture(folder, data):
    def capture(ds, k):
        secondary_capture(ds, k)
        rgb(ds, k)

    return derived_images(folder, data, 1, capture, "capture")


@case("error", "colour image")
def rgb_image_in_a_ct_file(folder, data):
    return derived_images(folder, data, 2, rgb, "rgb")


@case("error", "dose")
def dose_report_page(folder, data):
    def dose(ds, k):
        secondary_capture(ds, k)
        ds.SeriesDescription = "Dose Report"

    return derived_images(folder, data, 1, dose, "dose")


@case("error", "holds 2 CT series, choose one")
def two_studies(folder, data):
    series_copy(folder, data)
    shutil.copytree(data / CT5N, folder / "other")
    return folder


import io_corpus_loads  # noqa: E402,F401  (registers the cases that load)
