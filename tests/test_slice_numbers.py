"""One slice numbering: counted from 1 on the stored slices, and saying so, in ``ask``'s text and
``--json``, batch lines and their CSV, tested on a resampled series (the A0001 chest with four
slices left out: 60 stored slices shown as 64, so after the first gap the stored and displayed
numbers differ). The viewer's side (strip marker, tooltip, click, report) is in
tests/gui/test_chat_transcript.py."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest

from inference.batch.results import read_results
from inference.cli import main
from inference.io import load_volume

DROPPED = [20, 40, 41, 42]  # one slice missing after stored slice 20, three after stored slice 39
QUESTION = "Is there a nodule?"
FAST = ["--max-tokens", "4", "--device", "cpu", "--no-scan-cache"]


@pytest.fixture(scope="module")
def gapped(a0001_dicom: Path, tmp_path_factory) -> Path:
    """A0001 without the slices in DROPPED: resampled onto the regular 5 mm grid for display."""
    files = sorted(a0001_dicom.iterdir(),
                   key=lambda f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))
    folder = tmp_path_factory.mktemp("gapped") / "series"
    folder.mkdir()
    for k, f in enumerate(files):
        if k not in DROPPED:
            (folder / f.name).write_bytes(f.read_bytes())
    return folder


def test_stored_and_displayed_slices_map_both_ways(gapped: Path) -> None:
    vol = load_volume(gapped)
    assert vol.n_original == 60 and vol.shape[0] == 64
    stored = np.arange(60, dtype=float)
    shown = vol.original_to_grid(stored)
    assert np.allclose(shown, [k for k in range(64) if k not in DROPPED])  # stored 56 is displayed 60
    assert np.allclose(vol.grid_to_original(shown), stored)


def test_ask_text_json_and_batch_csv_name_the_same_stored_slices(gapped: Path, tmp_path: Path, capsys) -> None:
    assert main(["ask", str(gapped), QUESTION, "--json", *FAST]) == 0
    scores = json.loads(capsys.readouterr().out)["slice_scores"]
    assert scores["slice_grid"] == "stored" and scores["n_slices"] == 60 and "top_original_slices" not in scores
    top = scores["top_slices"]
    assert len(top) == 6 and all(1 <= k <= 60 for k in top)
    by_score = np.argsort(-np.asarray(scores["original_slices"]), kind="stable")[:6]
    assert top == [int(k) + 1 for k in by_score]  # counted from 1

    assert main(["ask", str(gapped), QUESTION, *FAST]) == 0
    said = re.search(r"\[stored slices? ([\d, -]+) of 60 scored highest;", capsys.readouterr().err)
    assert said, "the text names the stored grid and its size"
    numbers = set()
    for run in said.group(1).split(", "):
        a, _, b = run.partition("-")
        numbers |= set(range(int(a), int(b or a) + 1))
    assert numbers == set(top)

    out, table = tmp_path / "r.jsonl", tmp_path / "r.csv"
    assert main(["batch", str(gapped), "--out", str(out), "--csv", str(table), "--question", QUESTION, *FAST]) == 0
    (line,) = read_results(out)
    assert line["slice_scores"]["top_slices"] == top and line["slice_scores"]["slice_grid"] == "stored"
    (row,) = list(csv.DictReader(table.read_text(encoding="utf-8").splitlines()))
    assert row["slice_grid"] == "stored" and row["n_slices"] == "60"
    assert [int(k) for k in row["top_slices"].split()] == top
