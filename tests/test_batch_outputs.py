"""What a researcher gets from ``ctchat batch``: structured fields on each line (region, choices,
the option picked, disease), a CSV beside the JSON lines (``--csv``), and a table's choices
separated by ``;`` as in the viewer (``|`` still read)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from inference.batch.inputs import split_choices, table_jobs
from inference.batch.results import read_results
from inference.batch.results_csv import COLUMNS
from inference.cli import main

SCAN = "abdomen.nii.gz"


@pytest.mark.parametrize("cell", ["left lung; right lung", "left lung|right lung", " left lung ;right lung; "])
def test_choices_are_split_on_semicolons_and_bars(cell: str) -> None:
    assert split_choices(cell) == ("left lung", "right lung")


def test_one_option_is_an_error_that_names_the_separator(tmp_path: Path) -> None:
    table = tmp_path / "q.csv"
    table.write_text("scan,question,task,choices\nx.nii.gz,Which organ?,choice,liver kidney\n")
    (job,) = table_jobs(table)
    (bad,) = job.unaskable
    assert "separate the options with ';'" in bad.error and "1 found in the choices column" in bad.error


def test_lines_carry_structured_fields_and_the_csv_holds_every_line(ct_dir: Path, tmp_path: Path) -> None:
    (tmp_path / SCAN).write_bytes((ct_dir / "nifti" / "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz").read_bytes())
    table = tmp_path / "questions.csv"
    table.write_text("scan,question,task,choices,disease\n"
                     f"{SCAN},Which organ is shown?,choice,liver; lung,\n"
                     f"{SCAN},Which organ is shown?,choice,liver|lung,\n"
                     f"{SCAN},,yes_no,,emphysema\n"
                     f"missing.nii.gz,Is there a nodule?,open,,\n")
    out, sheet = tmp_path / "r.jsonl", tmp_path / "r.csv"
    assert main(["batch", str(table), "--out", str(out), "--csv", str(sheet), "--max-tokens", "4",
                 "--device", "cpu", "--no-scan-cache"]) == 0
    lines = read_results(out)
    answers = {r["row"]: r for r in lines if r["row"] is not None}
    for k in (0, 1):
        line = answers[k]
        assert line["task"] == "choice" and line["choices"] == ["liver", "lung"] and line["disease"] is None
        assert "choice" in line  # the option the answer named (None when it named none)
        if line["choice"] is not None:
            assert line["choice"]["text"] in line["choices"]
    assert answers[2]["disease"] == "emphysema" and answers[2]["choices"] == []
    for line in answers.values():
        assert line["region"]["status"] == "outside" and "outside the trained region" in line["region"]["message"]

    rows = list(csv.DictReader(sheet.read_text(encoding="utf-8").splitlines()))
    assert tuple(rows[0]) == COLUMNS and len(rows) == len(lines)
    by_row = {r["row"]: r for r in rows}
    assert by_row["0"]["choices"] == "liver; lung" and by_row["2"]["disease"] == "emphysema"
    assert by_row["0"]["choice"] == ((answers[0]["choice"] or {}).get("letter") or "")
    assert by_row["2"]["yes_probability"] == str(answers[2]["yes_probability"])
    assert by_row["0"]["region"] == "outside" and by_row["0"]["bundle"] == answers[0]["bundle"]["name"]
    assert by_row["0"]["scan_id"] == answers[0]["scan_id"] and by_row["0"]["answer"] == answers[0]["answer"]
    (error,) = [r for r in rows if r["error"] and not r["question"]]
    assert error["row"] == "3" and "missing.nii.gz" in error["error"]
