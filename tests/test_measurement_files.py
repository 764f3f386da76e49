"""Measurements on disk, one JSON file per scan: they come back in a new store (as after the
viewer restarts), scans stay apart, clearing removes the file, and a damaged file or a folder
that cannot be written loses nothing and raises nothing, only a sentence for the status bar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.io import Volume, scan_identity
from viewer.models import measurement_files
from viewer.models.measurement_files import BAD_SUFFIX, FORMAT_VERSION, MeasurementFileStore
from viewer.models.measurement_records import MeasurementRecord

KEY_A = "0123456789abcdef0123456789abcdef"
KEY_B = "fedcba9876543210fedcba9876543210"

RULER = MeasurementRecord("ruler", "axial", 12, (100.0, 90.0, 12.0), (380.5, 430.25, 12.0), length_mm=123.4)
ELLIPSE = MeasurementRecord("ellipse", "coronal", 256, (200.0, 256.0, 10.0), (300.0, 256.0, 30.0),
                            mean_hu=-812.5, sd_hu=41.25, area_mm2=350.0)
EMPTY_ROI = MeasurementRecord("ellipse", "sagittal", 3, (3.0, 1.0, 1.0), (3.0, 1.5, 1.5))  # no voxel inside


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def path_bytes(content: str) -> bytes:
    """What a test wrote into a file (lone surrogates stand for bytes that are not UTF-8)."""
    return content.encode("utf-8", "surrogateescape")


def test_records_come_back_equal_in_a_new_store(tmp_path: Path) -> None:
    MeasurementFileStore(tmp_path).keep(KEY_A, [RULER, ELLIPSE, EMPTY_ROI])
    store = MeasurementFileStore(tmp_path)  # as after a restart: nothing in memory
    back = store.for_scan(KEY_A)
    assert back == [RULER, ELLIPSE, EMPTY_ROI]
    assert isinstance(back[0].ijk0, tuple)  # lists became tuples again (the record stays hashable)
    assert store.problem is None
    assert files_in(tmp_path) == [f"{KEY_A}.json"]  # no temporary file left behind


def test_the_default_folder_is_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path / "appdata"))
    MeasurementFileStore().keep(KEY_A, [RULER])
    assert (tmp_path / "appdata" / "measurements" / f"{KEY_A}.json").is_file()


def test_two_scans_keep_their_own_records(tmp_path: Path) -> None:
    store = MeasurementFileStore(tmp_path)
    store.keep(KEY_A, [RULER])
    store.keep(KEY_B, [ELLIPSE])
    store.keep(KEY_A, [RULER, EMPTY_ROI])  # replaces A's, leaves B's
    fresh = MeasurementFileStore(tmp_path)
    assert fresh.for_scan(KEY_A) == [RULER, EMPTY_ROI]
    assert fresh.for_scan(KEY_B) == [ELLIPSE]
    assert fresh.for_scan("00000000000000000000000000000000") == []  # never measured


def test_keeping_nothing_removes_the_file(tmp_path: Path) -> None:
    store = MeasurementFileStore(tmp_path)
    store.keep(KEY_A, [RULER])
    store.keep(KEY_A, [])
    assert files_in(tmp_path) == []
    assert MeasurementFileStore(tmp_path).for_scan(KEY_A) == []
    store.keep(KEY_B, [])  # never kept, no folder needed: not a problem
    assert store.problem is None


def test_fields_it_does_not_know_are_left_out(tmp_path: Path) -> None:
    # A newer viewer may write more fields; this one reads the records it knows.
    entry = {"kind": "ruler", "plane": "axial", "slice_index": 12, "ijk0": [100.0, 90.0, 12.0],
             "ijk1": [380.5, 430.25, 12.0], "length_mm": 123.4, "colour": "#ff0000"}
    (tmp_path / f"{KEY_A}.json").write_text(json.dumps({"version": FORMAT_VERSION, "records": [entry]}))
    store = MeasurementFileStore(tmp_path)
    assert store.for_scan(KEY_A) == [RULER] and store.problem is None


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not JSON"),
    ("\udcff\udcfe{", "not JSON"),  # bytes that are not UTF-8 (written back as they were read)
    (json.dumps({"version": 99, "records": []}), "format version 99"),
    (json.dumps({"version": FORMAT_VERSION, "records": [{"kind": "ruler"}]}), "lacks a field"),
    (json.dumps([1, 2]), "format version None"),
    *((json.dumps({"version": FORMAT_VERSION, "records": [record]}), reason) for record, reason in (
        ({**RULER.__dict__, "oblique": [1.0, 2.0]}, "a rotation that is not nine numbers"),
        ({**RULER.__dict__, "ijk0": [1.0, "x", 2.0]}, "corners that are not three numbers"),
        ({**RULER.__dict__, "plane": "oblique"}, "an unknown kind or plane"),
        ({**RULER.__dict__, "slice_index": -1}, "no slice number"))),
])
def test_a_damaged_file_is_moved_aside_and_said(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / f"{KEY_A}.json"
    path.write_bytes(path_bytes(content))
    store = MeasurementFileStore(tmp_path)
    assert store.for_scan(KEY_A) == []
    assert store.problem is not None and reason in store.problem and f"{KEY_A}.json{BAD_SUFFIX}" in store.problem
    assert "\n" not in store.problem  # one sentence for the status bar
    assert files_in(tmp_path) == [f"{KEY_A}.json{BAD_SUFFIX}"]
    assert (tmp_path / f"{KEY_A}.json{BAD_SUFFIX}").read_bytes() == path_bytes(content)  # kept as it was
    store.keep(KEY_A, [RULER])  # the scan goes on with new records
    assert store.problem is None and MeasurementFileStore(tmp_path).for_scan(KEY_A) == [RULER]


def test_a_second_damaged_file_does_not_replace_the_first(tmp_path: Path) -> None:
    store = MeasurementFileStore(tmp_path)
    for content in ("first", "second"):
        (tmp_path / f"{KEY_A}.json").write_text(content)
        store.for_scan(KEY_A)
    kept = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert kept == {f"{KEY_A}.json{BAD_SUFFIX}": "first", f"{KEY_A}.json.2{BAD_SUFFIX}": "second"}


def test_a_damaged_file_that_cannot_move_is_never_written_over(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / f"{KEY_A}.json"
    path.write_text("{damaged")
    store = MeasurementFileStore(tmp_path)

    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(measurement_files.os, "replace", refuse)
    assert store.for_scan(KEY_A) == []
    assert "could not be moved aside (Permission denied)" in store.problem
    store.keep(KEY_A, [RULER])
    assert path.read_text() == "{damaged"  # not lost
    assert "not saved" in store.problem and store.for_scan(KEY_A) == [RULER]  # in memory
    monkeypatch.undo()  # the folder works again: the damaged file goes aside, the records to disk
    store.keep(KEY_A, [RULER, ELLIPSE])
    assert store.problem is None
    assert (tmp_path / f"{KEY_A}.json{BAD_SUFFIX}").read_text() == "{damaged"
    assert MeasurementFileStore(tmp_path).for_scan(KEY_A) == [RULER, ELLIPSE]


def test_a_folder_that_cannot_be_written_keeps_the_records_in_memory(tmp_path: Path) -> None:
    folder = tmp_path / "measurements"
    folder.write_text("a file where the folder should be")  # unwritable, also for root
    store = MeasurementFileStore(folder)
    store.keep(KEY_A, [RULER, ELLIPSE])
    assert store.problem is not None and "could not be saved" in store.problem
    assert "kept until the viewer closes" in store.problem
    assert store.for_scan(KEY_A) == [RULER, ELLIPSE]  # the window draws them again
    store.keep(KEY_A, [])  # cleared: cleared in memory too
    assert store.for_scan(KEY_A) == []
    store.keep(KEY_A, [RULER])
    folder.unlink()  # the folder can be made again: the next keep writes the file
    store.keep(KEY_A, [RULER, EMPTY_ROI])
    assert store.problem is None
    assert MeasurementFileStore(folder).for_scan(KEY_A) == [RULER, EMPTY_ROI]


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MeasurementFileStore(tmp_path)
    store.keep(KEY_A, [RULER])
    before = (tmp_path / f"{KEY_A}.json").read_text()

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(measurement_files.os, "replace", disk_full)
    store.keep(KEY_A, [RULER, ELLIPSE])
    assert "No space left on device" in store.problem
    assert (tmp_path / f"{KEY_A}.json").read_text() == before
    assert files_in(tmp_path) == [f"{KEY_A}.json"]  # the temporary file is gone
    assert store.for_scan(KEY_A) == [RULER, ELLIPSE]


def test_only_the_scan_identity_names_the_file_and_no_patient_data_is_in_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    patient = {"PatientName": "DOE^JANE", "PatientID": "PID-4711", "PatientBirthDate": "19510304"}
    voxels = rng.integers(-1000, 1000, (8, 16, 16)).astype(np.int16)
    volume = Volume(voxels=voxels, affine=np.diag([0.8, 0.8, 5.0, 1.0]),
                    slice_positions=np.arange(8) * 5.0, metadata=dict(patient), source="/scans/DOE^JANE/chest")
    key = scan_identity(volume)
    anonymous = Volume(voxels=volume.voxels, affine=volume.affine, slice_positions=volume.slice_positions)
    assert scan_identity(anonymous) == key  # the key is the image, not who it shows
    MeasurementFileStore(tmp_path).keep(key, [RULER, ELLIPSE])
    assert files_in(tmp_path) == [f"{key}.json"]
    text = (tmp_path / f"{key}.json").read_text()
    assert set(json.loads(text)) == {"version", "records"}
    for value in (*patient.values(), "DOE", "JANE", "4711", "/scans"):
        assert value not in text


def test_a_key_that_is_not_a_scan_identity_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a scan identity"):
        MeasurementFileStore(tmp_path).keep("../../etc/passwd", [RULER])
    assert files_in(tmp_path) == []  # nothing written
