"""ctchat ask with several bundles (answers side by side) and with --sr (the answer as a DICOM
Structured Report referencing the scan's own files)."""

from __future__ import annotations

import csv
import json

import pytest

from inference.cli import main
from inference.resources import DEMO_CT, shared_ct_dir

A0002_DICOM = shared_ct_dir() / "dicom" / "chest_lungdx_A0002_8mm"


def test_two_bundles_answer_side_by_side(tmp_path, capsys):
    code = main(["ask", str(DEMO_CT), "Where is the lesion located?", "--bundle", "default", "--bundle", "default",
                 "--bundle", str(tmp_path / "missing"), "--max-tokens", "6", "--relevance", "--json",
                 "--compare-out", str(tmp_path / "cmp")])
    assert code == 0
    records = json.loads(capsys.readouterr().out)
    assert [bool(r["answer"]) for r in records] == [True, True, False]
    assert records[2]["error"].startswith("no model bundle named or at")
    assert len(records[0]["slice_relevance"]["original_slices"]) == 64
    rows = list(csv.DictReader(open(tmp_path / "cmp" / "comparison.csv", encoding="utf-8")))
    assert [r["answer"] for r in rows[:2]] == [records[0]["answer"], records[1]["answer"]]
    assert (tmp_path / "cmp" / "comparison.html").is_file()


def test_the_answer_as_a_dicom_sr_references_the_scan(tmp_path, capsys):
    pytest.importorskip("highdicom", reason="the pacs extra")
    import pydicom

    out = tmp_path / "answer.dcm"
    code = main(["ask", str(A0002_DICOM), "Is there a nodule?", "--max-tokens", "6", "--sr", str(out)])
    assert code == 0
    said = capsys.readouterr()
    assert said.out.strip() and f"DICOM SR {out}" in said.err
    sr = pydicom.dcmread(out)
    source = pydicom.dcmread(next(p for p in sorted(A0002_DICOM.iterdir()) if p.is_file()), stop_before_pixels=True)
    assert sr.Modality == "SR" and sr.StudyInstanceUID == source.StudyInstanceUID
    referenced = {item.ReferencedSeriesSequence[0].SeriesInstanceUID
                  for item in sr.get("CurrentRequestedProcedureEvidenceSequence", [])}
    assert referenced == {source.SeriesInstanceUID}


def test_a_nifti_scan_gets_its_answer_and_one_sentence_for_the_sr(tmp_path, capsys):
    pytest.importorskip("highdicom", reason="the pacs extra")
    code = main(["ask", str(DEMO_CT), "Is there a nodule?", "--max-tokens", "4", "--sr", str(tmp_path / "a.dcm")])
    said = capsys.readouterr()
    assert code == 1 and said.out.strip()  # the answer was printed before the SR was refused
    assert said.err.count("\n") <= 3 and "ctchat:" in said.err and "Traceback" not in said.err
    assert not (tmp_path / "a.dcm").exists()
