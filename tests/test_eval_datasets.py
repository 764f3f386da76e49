"""ctchat eval --dataset on tiny fixtures written in each published format from real scans:
answered through ctchat batch, scored with the papers' metrics, printed and written as CSV."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.batch.results import read_results
from inference.cli import main
from inference.io import load_volume
from inference.preprocess import RECIPES, preprocess
from inference.llm.prompt import ct_rate_diseases
from training.evaluation.metrics import closed_correct

SCAN = "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz"


def _table(path: Path) -> dict[tuple[str, str, str], float]:
    with path.open() as f:
        return {(r["group"], r["name"], r["metric"]): float(r["value"]) for r in csv.DictReader(f)}


def _m3d_array(ct_dir: Path, out: Path) -> Path:
    """A real scan as M3D-VQA and M3D-Cap store their images: (1, 32, 256, 256) in [0, 1]."""
    volume = load_volume(ct_dir / "nifti" / SCAN)
    np.save(out, preprocess(volume, RECIPES["m3d"]).array[0])
    return out


def _eval(tmp_path: Path, dataset: str, path: Path, *extra: str) -> dict:
    out = tmp_path / "table.csv"
    assert main(["eval", "--dataset", dataset, str(path), "--bundle", "default", "--max-tokens", "8",
                 "--out", str(out), *extra]) == 0
    return _table(out)


def test_m3d_vqa_closed_scored_by_the_x_rule(ct_dir: Path, tmp_path: Path, capsys) -> None:
    _m3d_array(ct_dir, tmp_path / "s1.npy")
    (tmp_path / "broken.npy").write_bytes(b"not an array")
    rows = [["s1.npy", "1", "In which plane is this image?", "axial", "coronal", "sagittal", "oblique", "axial", "A"],
            ["s1.npy", "3", "Which organ is shown?", "liver", "brain", "heart", "lung", "liver", "A"],
            ["broken.npy", "3", "Which organ is shown?", "liver", "brain", "heart", "lung", "liver", "A"]]
    with (tmp_path / "M3D_VQA_test.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Image Path", "Question Type", "Question", "Choice A", "Choice B", "Choice C", "Choice D",
                    "Answer", "Answer Choice"])
        w.writerows(rows)
    table = _eval(tmp_path, "m3d-vqa", tmp_path / "M3D_VQA_test.csv", "--no-bertscore")
    assert "closed (M3D-Bench 'X.' rule)" in capsys.readouterr().out
    answers = read_results(tmp_path / "table_answers" / "results.jsonl")
    got = {r["row"]: closed_correct(r["answer"], "A") for r in answers if "error" not in r}
    assert sorted(got) == [0, 1] and [r for r in answers if "error" in r][0]["rows"] == [2]
    assert all(any("not Hounsfield units" in w for w in r["warnings"]) for r in answers if "error" not in r)
    group = "closed (M3D-Bench 'X.' rule)"
    assert table[(group, "plane", "accuracy")] == float(got[0])
    assert table[(group, "organ", "accuracy")] == float(got[1])
    assert table[(group, "micro", "accuracy")] == pytest.approx((got[0] + got[1]) / 2)
    assert table[("coverage", "answered", "fraction")] == pytest.approx(2 / 3)


def test_m3d_cap_captions_scored_with_the_text_metrics(ct_dir: Path, tmp_path: Path) -> None:
    _m3d_array(ct_dir, tmp_path / "c1.npy")
    (tmp_path / "c1.txt").write_text("The liver and kidneys are shown. No focal lesion.")
    (tmp_path / "M3D_Cap.json").write_text(json.dumps({"test": [{"image": "c1.npy", "text": "c1.txt"}]}))
    table = _eval(tmp_path, "m3d-cap", tmp_path / "M3D_Cap.json")
    for metric in ("bleu1", "rouge1", "meteor", "bertscore_f1"):
        assert 0.0 <= table[("text", "findings", metric)] <= 1.0


def test_ct_rate_labels_balanced_accuracy_macro_and_micro(ct_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "valid").mkdir()
    shutil.copy(ct_dir / "nifti" / SCAN, tmp_path / "valid" / "valid_1_a_1.nii.gz")
    diseases = ct_rate_diseases()
    with (tmp_path / "validation_reports.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["VolumeName", "Findings_EN", "Impressions_EN"],
                                 ["valid_1_a_1.nii.gz", "No pulmonary nodule. Emphysema.", "Emphysema."]])
    with (tmp_path / "valid_predicted_labels.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["VolumeName", *[d.capitalize() for d in diseases]],
                                 ["valid_1_a_1.nii.gz", *[int(d == "emphysema") for d in diseases]]])
    table = _eval(tmp_path, "ct-rate", tmp_path, "--no-bertscore")
    group = "CT-RATE labels (yes/no)"
    assert sum(1 for (g, _, m) in table if g == group and m == "f1") == len(diseases) + 2  # labels, macro, micro
    answers = [r for r in read_results(tmp_path / "table_answers" / "results.jsonl") if r["task"] == "yes_no"]
    assert len(answers) == 18
    # recompute the micro scores from the answers: one positive label (emphysema), 17 negatives
    yes = [r["answer"].lower().startswith("yes") for r in answers]
    no = [r["answer"].lower().startswith("no") for r in answers]
    positive = ["emphysema" in r["question"] for r in answers]
    tp = sum(y and p for y, p in zip(yes, positive))
    tn = sum(n and not p for n, p in zip(no, positive))
    assert table[(group, "micro", "recall")] == float(tp)
    assert table[(group, "micro", "precision")] == pytest.approx(tp / sum(yes) if sum(yes) else 0.0)
    assert table[(group, "micro", "balanced_accuracy")] == pytest.approx((tp + tn / 17) / 2)
    assert 0.0 <= table[("text", "findings", "rouge1")] <= 1.0
