"""The SR and KOS ctchat writes: valid by dciodvfy, accepted by Orthanc (STOW-RS and C-STORE),
and back from it (find/get) with their references to the source series intact."""

from __future__ import annotations

import json
import shutil
import subprocess

import pydicom
import pytest
from orthanc_server import CT_SERIES

from inference.cli import main
from inference.pacs import StudyQuery, find_studies, retrieve_series, send_files, write_answer_sr
from inference.pacs.source import read_source_series

ANSWER = {"question": "Is there a lung mass?", "answer": "Yes: a right perihilar mass.", "notes": ["a note"],
          "slice_scores": {"slice_grid": "stored", "n_slices": 30, "top_slices": [14, 15, 16]},
          "bundle": {"name": "default", "version": "0.1.0"}}
MEASUREMENTS = [{"kind": "length", "value_mm": 31.5, "slice": 15, "points": [[200, 210], [240, 230]]},
                {"kind": "roi", "mean": 35.0, "std": 12.5, "area": 410.0, "slice": 15,
                 "points": [[100, 100], [140, 100], [140, 140], [100, 140]]}]


def dciodvfy_errors(path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


def referenced_sops(ds) -> set[str]:
    """Every ReferencedSOPInstanceUID anywhere in the content tree."""
    found, stack = set(), [ds]
    while stack:
        item = stack.pop()
        for element in item:
            if element.VR == "SQ":
                stack.extend(element.value)
            elif element.keyword == "ReferencedSOPInstanceUID":
                found.add(str(element.value))
    return found


@pytest.fixture(scope="module")
def source():
    return read_source_series(CT_SERIES)


def test_slice_numbers_follow_the_loader(source):
    from inference.io import load_volume

    stored = load_volume(CT_SERIES).as_stored()
    z = [float(ds.ImagePositionPatient[2]) for ds in source.datasets]
    assert z == sorted(z) and len(z) == stored.shape[0]
    assert z[0] == pytest.approx(stored.affine[2, 3])


def test_sr_and_kos_pass_dciodvfy(tmp_path, source):
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (dicom3tools) is not installed")
    out = write_answer_sr(source.datasets, [ANSWER], ANSWER["bundle"], tmp_path / "sr.dcm", MEASUREMENTS,
                          kos_path=tmp_path / "kos.dcm")
    assert dciodvfy_errors(out) == [] and dciodvfy_errors(tmp_path / "kos.dcm") == []
    sr = pydicom.dcmread(out)
    text = json.dumps(sr.to_json_dict())
    assert "not a medical device" in text and "Is there a lung mass?" in text and "default 0.1.0" in text
    assert sr.StudyInstanceUID == source.study_uid
    peaks = {str(source.slice(k).SOPInstanceUID) for k in (14, 15, 16)}
    assert peaks <= referenced_sops(sr)
    assert referenced_sops(pydicom.dcmread(tmp_path / "kos.dcm")) >= peaks


def test_bad_measurement_is_one_sentence(tmp_path, source):
    from inference.pacs import PacsError

    with pytest.raises(PacsError, match="a length needs two points"):
        write_answer_sr(source.datasets, [ANSWER], {}, tmp_path / "x.dcm",
                        [{"kind": "length", "value_mm": 1, "slice": 2, "points": [[1, 2]]}])


@pytest.mark.parametrize("kind", ["web", "dimse"])
def test_sent_sr_comes_back_with_its_references(kind, tmp_path, source, web_node, dimse_node, capsys):
    node = web_node if kind == "web" else dimse_node
    ask_json = tmp_path / "ask.json"
    ask_json.write_text(json.dumps(ANSWER))
    sr_path, kos_path = tmp_path / "sr.dcm", tmp_path / "kos.dcm"
    assert main(["pacs", "sr", "--from-json", str(ask_json), "--scan", str(CT_SERIES), "--out", str(sr_path),
                 "--kos", str(kos_path)]) == 0
    sent = pydicom.dcmread(sr_path)
    if shutil.which("dciodvfy"):
        assert dciodvfy_errors(sr_path) == []  # the SR without measurements too
    assert send_files(node, [sr_path, kos_path]) == 2
    (study,) = find_studies(node, StudyQuery(study_uid=source.study_uid))
    back = [s for s in study.series if s.series_uid == sent.SeriesInstanceUID]
    assert back and back[0].modality == "SR"
    folder = retrieve_series(node, study.study_uid, sent.SeriesInstanceUID, cache_root=tmp_path / "cache")
    (got,) = [pydicom.dcmread(p) for p in folder.glob("*.dcm")]
    assert got.SOPInstanceUID == sent.SOPInstanceUID
    assert referenced_sops(got) == referenced_sops(sent)
    assert {str(ds.SOPInstanceUID) for ds in source.datasets} <= referenced_sops(got)  # the whole series as evidence
