"""Occlusion relevance on the command line: ``ask --relevance`` (text line and ``--json``), on a
3D bundle and a slice-set one; ``batch --relevance`` and its long per-slice CSV with both kinds
of scores; ``eval --question-dependence``'s figures; the bundle summary's measured figures."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.batch.relevance_fields import relevance_line, stored_ranges
from inference.batch.results import read_results
from inference.batch.results_csv import COLUMNS, SLICE_COLUMNS
from inference.bundle import load_bundle
from inference.chat.session import Answer
from inference.cli import main
from inference.question import Question
from inference.resources import resource_path
from training.evaluation.question_dependence import scan_correlation, sparkline

DEMO = resource_path("demo", "chest_lungdx_A0001_5mm.nii.gz")  # 64 stored slices
QUESTION = "Where is the lesion located?"


def ask_json(capsys, *extra: str) -> dict:
    assert main(["ask", str(DEMO), QUESTION, "--max-tokens", "4", "--device", "cpu", "--no-scan-cache",
                 "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_ask_json_gains_one_finite_value_per_stored_slice_on_the_default_bundle(capsys):
    out = ask_json(capsys, "--relevance")
    relevance = out["slice_relevance"]
    assert relevance["method"] == "occlusion" and relevance["unit"] == "nats" and relevance["slice_grid"] == "stored"
    values = relevance["original_slices"]
    assert relevance["n_slices"] == len(values) == 64 and all(math.isfinite(v) for v in values)
    assert len(relevance["slabs"]) == 4 and relevance["seconds"] > 0  # the 4 depth rows of its token grid
    # counted from 1, highest first
    assert relevance["top_slices"][0] == int(np.argmax(values)) + 1
    assert out["slice_scores"]["n_slices"] == 64 and out["answer"]  # every earlier key is still there


def test_ask_json_without_relevance_says_null(capsys):
    assert ask_json(capsys)["slice_relevance"] is None


def test_the_text_line_writes_slices_as_the_tgis_line_does():
    scores = np.zeros(64)
    scores[[30, 31, 32, 33, 34, 35]] = [6, 5, 4, 3, 2, 1]
    scores[9] = 0.5
    answer = Answer(Question("open", "x"), "y", scores, scores,
                    [int(k) for k in np.argsort(-scores, kind="stable")])
    for n in (6, 7, 1):  # one run; a run and a single slice; one slice
        top = [k + 1 for k in answer.top_slices[:n]]
        assert stored_ranges(top, 64) == answer.top_range(n)
    record = {"original_slices": list(scores), "top_slices": [31, 32, 33, 34, 35, 36], "n_slices": 64, "seconds": 4.25}
    line = relevance_line({"slice_relevance": record})
    assert line == ("[occlusion: the answer rests most on stored slices 31-36 of 64 (removing them lowers its "
                    "log-probability by up to 6.000 nats); 4.2 s]")
    flat = {**record, "original_slices": [-0.01] * 64}
    assert "removing no slice lowers" in relevance_line({"slice_relevance": flat})
    reason = {"slice_relevance": None, "slice_relevance_reason": "its projector mixes them"}
    assert relevance_line(reason) == "[occlusion relevance: none: its projector mixes them]"


def test_a_slice_set_bundle_gives_one_value_per_stored_slice(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch", reason="the tiny Gemma 3 is written with torch (the train extra)")
    pytest.importorskip("transformers", reason="the tiny Gemma 3 is written with transformers (the train extra)")
    sys.path.insert(0, str(Path(__file__).parent / "slices"))
    from tiny_bundle import make_tiny_bundle

    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path / "data"))
    bundle = make_tiny_bundle(tmp_path)
    out = ask_json(capsys, "--relevance", "--bundle", str(bundle), "--slices", "3")
    relevance = out["slice_relevance"]
    assert len(relevance["slabs"]) == len(out["sent_slices"]["slices"]) == 3  # one slab per slice sent
    values = relevance["original_slices"]
    assert relevance["n_slices"] == len(values) == 64 and all(math.isfinite(v) for v in values)
    assert out["slice_scores"] is None  # a slice set has no TG-IS


def test_batch_writes_both_kinds_of_scores_in_the_long_csv(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "demo.nii.gz").write_bytes(DEMO.read_bytes())
    out, sheet = tmp_path / "r.jsonl", tmp_path / "r.csv"
    assert main(["batch", str(scans), "--out", str(out), "--csv", str(sheet), "--question", QUESTION,
                 "--max-tokens", "4", "--device", "cpu", "--no-scan-cache", "--relevance"]) == 0
    (line,) = read_results(out)
    assert len(line["slice_relevance"]["original_slices"]) == 64
    (row,) = list(csv.DictReader(sheet.read_text(encoding="utf-8").splitlines()))
    assert tuple(row) == COLUMNS
    assert [int(k) for k in row["occlusion_top_slices"].split()] == line["slice_relevance"]["top_slices"]
    assert row["top_slices"] and not row["occlusion_reason"]  # TG-IS's top slices, as before

    rows = list(csv.DictReader((tmp_path / "r.slices.csv").read_text(encoding="utf-8").splitlines()))
    assert tuple(rows[0]) == SLICE_COLUMNS
    by_method = {m: [r for r in rows if r["method"] == m] for m in ("tgis", "occlusion")}
    for method, key in (("tgis", "slice_scores"), ("occlusion", "slice_relevance")):
        got = by_method[method]
        assert [int(r["stored_slice"]) for r in got] == list(range(1, 65))
        assert [float(r["value"]) for r in got] == line[key]["original_slices"]
        assert {(r["scan_id"], r["bundle"], r["question"]) for r in got} == {
            (line["scan_id"], line["bundle"]["name"], QUESTION)}


def test_eval_question_dependence_gives_the_figures(capsys):
    # one case per held-out scan, two question kinds each (plane and organ): two pairs
    assert main(["eval", "--cases", "1", "--kinds", "plane,organ", "--no-bertscore", "--max-tokens", "4",
                 "--question-dependence", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["question_dependence"]
    assert figures["n_scans"] == 2 and figures["n_pairs"] == 2
    for method in ("tgis", "occlusion"):
        assert figures["n_pairs_correlated"][method] == 2 and -1.0 <= figures[method] <= 1.0
    (first, second) = figures["scans"]
    assert first["kinds"] == ["plane/choice", "organ/choice"]
    assert all(len(strip) == len(first["occlusion"][0]) for strip in first["tgis"] + first["occlusion"])


def test_pairs_are_correlated_only_where_both_strips_vary():
    up, down, flat = np.arange(5.0), -np.arange(5.0), np.ones(5)
    assert scan_correlation([up, 2 * up + 1]) == (pytest.approx(1.0), 1)
    assert scan_correlation([up, down, flat, None]) == (pytest.approx(-1.0), 1)
    r, n = scan_correlation([flat, None])
    assert n == 0 and math.isnan(r)
    assert sparkline(np.arange(8.0)) == "▁▂▃▄▅▆▇█" and len(sparkline(np.arange(300.0))) == 64


def test_the_default_bundle_states_its_measured_question_dependence():
    measured = load_bundle("default").summary()["question_dependence"]
    assert set(measured) >= {"tgis", "occlusion", "measured"}
    assert "ctchat eval" in measured["measured"] and "--question-dependence" in measured["measured"]


def test_about_this_model_states_the_default_bundles_question_dependence():
    pytest.importorskip("PySide6")
    from inference.bundle import load_bundle
    from viewer.chat.about_dialog import question_dependence

    figures = load_bundle("default").summary()["question_dependence"]
    line = "".join(question_dependence(figures))
    assert f"TG-IS r = {figures['tgis']:.2f}" in line and f"occlusion r = {figures['occlusion']:.2f}" in line
    assert question_dependence(None) == []
