"""A CD export (DICOMDIR index, DIRFILE, a viewer program beside the images) and two studies
that share a description, made from the real CT5N series with pydicom."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

from inference.cli import main
from inference.io import errors as E
from inference.io import list_series, load_volume, read_dicom_folder


@pytest.fixture
def cd_export(ct_dir: Path, tmp_path: Path) -> Path:
    """The CT5N series as an exporter writes it: DICOMDIR, DIRFILE, images, a viewer program."""
    fs = FileSet()
    for f in sorted((ct_dir / "tiny" / "pydicom_dicomdirtests_CT5N").iterdir()):
        fs.add(pydicom.dcmread(f))
    cd = tmp_path / "cd"
    fs.write(cd)
    (cd / "DIRFILE").write_bytes(b"\x00proprietary index\x00" * 8)
    (cd / "VIEWER").mkdir()
    (cd / "VIEWER" / "viewer.exe").write_bytes(b"MZ" + bytes(64))
    (cd / "AUTORUN.INF").write_text("[autorun]\nopen=VIEWER\\viewer.exe\n")
    return cd


def _codes(vol) -> set[str]:
    return {w.code for w in vol.warnings}


def test_the_dicomdir_is_read_as_the_exports_index(cd_export):
    vol = load_volume(cd_export)
    assert vol.shape == (5, 16, 16)
    assert E.SKIPPED_FILES not in _codes(vol), [w.message for w in vol.warnings]
    (series,) = list_series(cd_export)
    assert series.n_slices == 5 and series.loadable


def test_the_dicomdir_opened_by_itself_opens_the_export(cd_export):
    vol = load_volume(cd_export / "DICOMDIR")
    assert vol.shape == (5, 16, 16) and E.SKIPPED_FILES not in _codes(vol)


def test_a_file_the_dicomdir_lists_but_the_export_lacks_is_named(cd_export):
    images = sorted(p for p in cd_export.rglob("*") if p.is_file() and p.parent.name.startswith("SE"))
    images[-1].unlink()
    vol = load_volume(cd_export)
    (w,) = [w for w in vol.warnings if w.code == E.SKIPPED_FILES]
    assert images[-1].name in w.message and "listed in the export's DICOMDIR but not found" in w.message
    assert vol.shape == (4, 16, 16)


def test_a_damaged_dicomdir_is_named_and_every_file_is_read(cd_export):
    (cd_export / "DICOMDIR").write_bytes(b"DICM" + bytes(10))
    folder = read_dicom_folder(cd_export)
    assert "the export's index could not be read" in folder.skipped["DICOMDIR"]
    assert "DIRFILE" not in folder.skipped
    vol = load_volume(folder)
    (w,) = [w for w in vol.warnings if w.code == E.SKIPPED_FILES]
    assert "DICOMDIR" in w.message and vol.shape == (5, 16, 16)


def test_info_gives_each_study_its_own_header_when_descriptions_match(ct_dir, tmp_path, capsys):
    """Two studies, both "CT CHEST": grouped by Study Instance UID, not by description."""
    src = sorted((ct_dir / "tiny" / "pydicom_dicomdirtests_CT5N").iterdir())
    study_uids = [generate_uid(), generate_uid()]
    for n, study_uid in enumerate(study_uids):
        series_uid = generate_uid()
        folder = tmp_path / "studies" / f"study{n}"
        folder.mkdir(parents=True)
        for f in src:
            ds = pydicom.dcmread(f)
            ds.StudyDescription = "CT CHEST"
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.save_as(folder / f.name)
    assert main(["info", str(tmp_path / "studies")]) == 0
    headers = [line for line in capsys.readouterr().out.splitlines() if line.startswith("study:")]
    assert len(headers) == 2 and all("CT CHEST" in h for h in headers)
    assert {h.rsplit("uid ", 1)[1] for h in headers} == set(study_uids)
