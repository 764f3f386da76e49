"""ctchat batch on real scans: a folder with a corrupt scan, a CSV table, a killed and restarted
run, --workers 2 and a local Ray cluster, each against the single-process results."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from inference.batch.inputs import folder_jobs
from inference.batch.ray_backend import import_ray
from inference.batch.results import read_results
from inference.batch.runner import RunSettings
from inference.cli import main
from inference.commands.batch import jobs_for, run_jobs
from inference.question import Question

SETTINGS = RunSettings(bundle="default", device="cpu", max_tokens=12, scan_cache=False)
QUESTIONS = ["Where is the liver?", "Is there a nodule?"]


@pytest.fixture(scope="module")
def scans(ct_dir: Path, tmp_path_factory) -> Path:
    """Two small real scans (NIfTI and a DICOM series in a subfolder) and a corrupt one."""
    root = tmp_path_factory.mktemp("scans")
    shutil.copy(ct_dir / "nifti" / "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz", root / "abdomen.nii.gz")
    shutil.copytree(ct_dir / "tiny" / "monai_CT_DICOM_16x16", root / "site" / "study1")
    (root / "broken").mkdir()
    (root / "broken" / "slice1.dcm").write_bytes(b"\x00not a dicom file" * 64)
    return root


def _without_timings(records: list[dict]) -> dict:
    return {(r["scan_id"], r["row"]): {k: v for k, v in r.items() if k != "timings_s"} for r in records}


@pytest.fixture(scope="module")
def single(scans: Path, tmp_path_factory) -> list[dict]:
    """The single-process results of the folder, asked two questions and CT-RATE's emphysema."""
    out = tmp_path_factory.mktemp("single") / "results.jsonl"
    assert main(["batch", str(scans), "--out", str(out), "--question", QUESTIONS[0], "--question",
                 QUESTIONS[1], "--yes-no", "emphysema", "--max-tokens", "12", "--device", "cpu"]) == 0
    return read_results(out)


def test_folder_answers_every_scan_and_one_error_line(single: list[dict], scans: Path) -> None:
    errors = [r for r in single if "error" in r]
    assert len(errors) == 1 and errors[0]["rows"] == [0, 1, 2]
    assert "not a DICOM file" in errors[0]["error"]  # the loader's sentence
    answers = [r for r in single if "error" not in r]
    assert len(answers) == 6 and len({r["scan_id"] for r in answers}) == 2
    for r in answers:
        assert r["answer"] and r["bundle"]["name"] and r["timings_s"]["scan_vision"] >= 0
        assert "abdomen" not in r["scan_id"] and "study1" not in r["scan_id"]  # hashed, no folder names
    yes_no = [r for r in answers if r["task"] == "yes_no"]
    assert len(yes_no) == 2 and all(0 <= r["yes_probability"] <= 1 for r in yes_no)
    # each scan was encoded once: its questions carry the same scan timings
    for sid in {r["scan_id"] for r in answers}:
        assert len({json.dumps({k: v for k, v in r["timings_s"].items() if k.startswith("scan_")})
                    for r in answers if r["scan_id"] == sid}) == 1


def test_rerun_skips_what_the_results_hold(single: list[dict], scans: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    questions = [Question.typed(q) for q in QUESTIONS] + [Question.yes_no("emphysema")]
    jobs = folder_jobs(scans, questions)
    out.write_text("".join(json.dumps(r) + "\n" for r in single[:2]) + '{"scan_id": "cut sh')  # killed mid-line
    written = run_jobs(jobs, out, SETTINGS, quiet=True)
    assert written == len(single) - 2
    assert _without_timings(read_results(out)) == _without_timings(single)
    assert run_jobs(jobs, out, SETTINGS, quiet=True) == 0


def test_csv_table_matches_the_folder(single: list[dict], scans: Path, tmp_path: Path) -> None:
    table = tmp_path / "questions.csv"
    table.write_text("scan,question,task,disease\n"
                     f"{scans / 'abdomen.nii.gz'},{QUESTIONS[1]},open,\n"
                     f"{scans / 'abdomen.nii.gz'},,yes_no,emphysema\n")
    out = tmp_path / "r.jsonl"
    run_jobs(jobs_for(table, [], "hash"), out, SETTINGS, quiet=True)
    got = read_results(out)
    folder = {(r["question"], r["answer"], r["yes_probability"]) for r in single if r.get("scan_id") and
              r.get("answer") is not None}
    assert [r["row"] for r in got] == [0, 1]
    assert all((r["question"], r["answer"], r["yes_probability"]) in folder for r in got)


def test_a_question_that_cannot_be_asked_is_one_error_line(single: list[dict], scans: Path, tmp_path: Path) -> None:
    table = tmp_path / "questions.csv"
    table.write_text("scan,question,task,choices,disease\n"
                     f"{scans / 'abdomen.nii.gz'},,yes_no,,\n"  # no disease
                     f"{scans / 'abdomen.nii.gz'},{QUESTIONS[1]},open,,\n"
                     f"{scans / 'abdomen.nii.gz'},Which organ?,choice,liver,\n"  # one option
                     f"{scans / 'broken'},Which organ?,choice,liver|kidney,\n")  # and an unreadable scan
    out = tmp_path / "r.jsonl"
    assert run_jobs(jobs_for(table, [], "hash"), out, SETTINGS, quiet=True) == 4
    got = {r["row"]: r for r in read_results(out) if r["row"] is not None}
    assert sorted(got) == [0, 1, 2] and "answer" in got[1] and "error" not in got[1]
    assert "needs the disease" in got[0]["error"] and "2 to" in got[2]["error"]
    assert all(got[k]["error"].startswith(f"row {k + 1}: ") for k in (0, 2))
    assert [r["rows"] for r in read_results(out) if r["row"] is None] == [[3]]  # the scan's own error line
    assert run_jobs(jobs_for(table, [], "hash"), out, SETTINGS, quiet=True) == 0  # all done, none asked again


def test_a_folder_of_m3d_arrays_is_answered(scans: Path, tmp_path: Path) -> None:
    from inference.io import load_volume
    from inference.preprocess import RECIPES, preprocess

    folder = tmp_path / "m3d"
    folder.mkdir()
    np.save(folder / "a.npy", preprocess(load_volume(scans / "abdomen.nii.gz"), RECIPES["m3d"]).array[0])
    (folder / "b.npy").write_bytes(b"truncated")
    out = tmp_path / "r.jsonl"
    run_jobs(folder_jobs(folder, [Question.typed(QUESTIONS[0])]), out, SETTINGS, quiet=True)
    got = sorted(read_results(out), key=lambda r: "error" in r)
    assert len(got) == 2 and got[0]["answer"] and "not Hounsfield units" in got[0]["warnings"][0]
    assert "not a readable NumPy array file" in got[1]["error"]


def test_killed_run_restarted_holds_every_answer_once(single: list[dict], scans: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "inference.cli", "batch", str(scans), "--out", str(out), "--question",
           QUESTIONS[0], "--question", QUESTIONS[1], "--yes-no", "emphysema", "--max-tokens", "12",
           "--device", "cpu"]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, env={**os.environ, "CTCHAT_SCAN_CACHE": "0"})
    deadline = time.monotonic() + 120
    while not (out.exists() and out.read_bytes().count(b"\n") >= 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = out.read_bytes().count(b"\n")
    assert 1 <= n_before < len(single), "the kill must land mid-run"
    assert subprocess.run(cmd, stderr=subprocess.DEVNULL).returncode == 0
    got = read_results(out)
    assert len(got) == len(single) and len({(r["scan_id"], r["row"]) for r in got}) == len(single)
    assert _without_timings(got) == _without_timings(single)


def test_two_workers_equal_one(single: list[dict], scans: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    questions = [Question.typed(q) for q in QUESTIONS] + [Question.yes_no("emphysema")]
    run_jobs(folder_jobs(scans, questions), out, SETTINGS, workers=2, quiet=True)
    assert _without_timings(read_results(out)) == _without_timings(single)


def test_local_ray_cluster_equals_one_process(single: list[dict], scans: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    ray = import_ray()  # the cluster the test starts reports no usage stats either
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = tmp_path / "r.jsonl"
        questions = [Question.typed(q) for q in QUESTIONS] + [Question.yes_no("emphysema")]
        run_jobs(folder_jobs(scans, questions), out, SETTINGS, ray_address="auto", actors=2, quiet=True)
    finally:
        ray.shutdown()
    assert _without_timings(read_results(out)) == _without_timings(single)


def test_a_choice_line_names_its_option(scans: Path, tmp_path: Path) -> None:
    table = tmp_path / "questions.jsonl"
    table.write_text(json.dumps({"scan": str(scans / "abdomen.nii.gz"), "question": "Which organ is shown?",
                                 "task": "choice", "choices": ["heart", "kidney"]}) + "\n")
    out = tmp_path / "r.jsonl"
    assert run_jobs(jobs_for(table, [], "hash"), out, SETTINGS, quiet=True) == 1
    (line,) = read_results(out)
    assert line["choice"]["text"] in ("heart", "kidney")
    assert line["answer"] == f"{line['choice']['text']} ({line['choice']['letter']})"
