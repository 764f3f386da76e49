"""Opening a folder parses each DICOM header once: the series are listed with
:func:`read_dicom_folder`, and loading one (or another) from what it read parses none again, gives
the volume a load by path gives, reports the same progress, and keeps no pixel data in the
headers it holds. ``ctchat info`` on a study reads it that way."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pytest

import inference.io.dicom_scan as dicom_scan
from inference.cli import main
from inference.io import LoadCancelled, Volume, load_volume, read_dicom_folder


@pytest.fixture
def header_reads(monkeypatch) -> Counter:
    """How many times each file's header was parsed, from now on."""
    reads: Counter = Counter()
    parse = pydicom.dcmread

    def counted(path, *args, **kwargs):
        reads[str(path)] += 1
        return parse(path, *args, **kwargs)

    monkeypatch.setattr(dicom_scan.pydicom, "dcmread", counted)
    return reads


@pytest.fixture(scope="module")
def two_series(ct_dir: Path, tmp_path_factory) -> Path:
    """A study folder holding the first 6 slices of A0001 and of A0002 (JPEG 2000 beside them)."""
    study = tmp_path_factory.mktemp("study")
    for name in ("chest_lungdx_A0001_5mm", "chest_lungdx_A0002_8mm", "upperabd_totalseg_j2k_20sl"):
        (study / name).mkdir()
        for src in sorted((ct_dir / "dicom" / name).iterdir())[:6]:
            (study / name / src.name).symlink_to(src)
    return study


def _same(a: Volume, b: Volume) -> None:
    assert np.array_equal(a.voxels, b.voxels) and a.voxels.dtype == b.voxels.dtype
    assert np.array_equal(a.affine, b.affine) and np.array_equal(a.slice_positions, b.slice_positions)
    assert a.metadata == b.metadata and a.warnings == b.warnings and a.source == b.source


def test_listing_then_loading_a_folder_parses_each_header_once(a0001_dicom: Path, a0001_volume: Volume,
                                                                header_reads: Counter) -> None:
    folder = read_dicom_folder(a0001_dicom)
    assert [s.n_slices for s in folder.series if s.loadable] == [64]
    volume = load_volume(folder)
    assert len(header_reads) == 64 and set(header_reads.values()) == {1}
    _same(volume, a0001_volume)


def test_loading_by_path_still_parses_each_header_once(a0001_dicom: Path, header_reads: Counter) -> None:
    load_volume(a0001_dicom)
    assert len(header_reads) == 64 and set(header_reads.values()) == {1}


def test_every_series_of_a_study_loads_from_one_reading(two_series: Path, header_reads: Counter) -> None:
    folder = read_dicom_folder(two_series)
    volumes = {s.uid: load_volume(folder, s.uid) for s in folder.series}
    again = {s.uid: load_volume(folder, s.uid) for s in folder.series}  # decoded once, decodable again
    assert len(volumes) == 3 and len(header_reads) == 18 and set(header_reads.values()) == {1}
    for uid, volume in volumes.items():
        _same(volume, again[uid])
        _same(volume, load_volume(two_series, uid))


def test_ctchat_info_on_a_study_parses_each_header_once(two_series: Path, header_reads: Counter, capsys) -> None:
    assert main(["info", str(two_series)]) == 0
    assert capsys.readouterr().out.count("shape (z, y, x)") == 3  # every series loaded
    assert len(header_reads) == 18 and set(header_reads.values()) == {1}


def test_the_headers_kept_hold_no_pixel_data(two_series: Path) -> None:
    folder = read_dicom_folder(two_series)
    for s in folder.series:
        load_volume(folder, s.uid)
    stored = [r.dataset.get_item("PixelData", keep_deferred=True) for g in folder.groups for r in g.records]
    assert len(stored) == 18 and all(elem.value is None for elem in stored)  # still on disk


def test_progress_over_listing_and_loading_is_that_of_one_load(a0001_dicom: Path) -> None:
    by_path: list[tuple[int, int]] = []
    load_volume(a0001_dicom, progress=lambda done, total: by_path.append((done, total)))
    in_two: list[tuple[int, int]] = []
    folder = read_dicom_folder(a0001_dicom, progress=lambda done, total: in_two.append((done, total)))
    load_volume(folder, progress=lambda done, total: in_two.append((done, total)))
    assert in_two == by_path and in_two[-1] == (128, 128)


def test_reading_a_folder_can_be_cancelled(a0001_dicom: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(LoadCancelled):
        read_dicom_folder(a0001_dicom, cancel=cancel)
