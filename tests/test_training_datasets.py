"""Readers of M3D-Cap, M3D-VQA and CT-RATE on small files in their published formats."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from inference.llm.prompt import ct_rate_diseases
from training.data.datasets import DatasetError, read_ct_rate, read_m3d_cap, read_m3d_vqa


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_m3d_cap(tmp_path):
    (tmp_path / "ct").mkdir()
    np.save(tmp_path / "ct" / "0001.npy", np.zeros((1, 32, 256, 256), np.float32))
    (tmp_path / "ct" / "0001.txt").write_text("Large mass in the right upper lobe.\n")
    (tmp_path / "cap.json").write_text(json.dumps({"train": [{"image": "ct/0001.npy", "text": "ct/0001.txt"}], "validation": []}))
    (sample,) = read_m3d_cap(tmp_path / "cap.json", tmp_path)
    assert sample.image == tmp_path / "ct" / "0001.npy" and sample.qa.task == "report"
    assert sample.qa.answer == "Large mass in the right upper lobe."
    with pytest.raises(DatasetError, match="no split 'test'"):
        read_m3d_cap(tmp_path / "cap.json", tmp_path, "test")


def test_m3d_vqa_closed_and_open(tmp_path):
    header = ["Image Path", "Text", "Question Type", "Question", "Choice A", "Choice B", "Choice C", "Choice D", "Answer", "Answer Choice"]
    write_csv(tmp_path / "vqa.csv", header, [
        ["ct/0001.npy", "", "1", "In which plane is this image?", "Sagittal", "Axial", "Coronal", "Oblique", "Axial", "B"],
        ["ct/0001.npy", "", "5", "Where is the mass?", "Left lobe", "Right upper lobe", "Liver", "Spleen", "Right upper lobe", "B"],
    ])
    closed = read_m3d_vqa(tmp_path / "vqa.csv", tmp_path)
    assert [s.qa.kind for s in closed] == ["plane", "location"]
    assert closed[0].qa.answer == "B. Axial" and closed[0].qa.question.choices[1] == "Axial"
    opened = read_m3d_vqa(tmp_path / "vqa.csv", tmp_path, closed=False)
    assert opened[1].qa.task == "open" and opened[1].qa.answer == "Right upper lobe"
    write_csv(tmp_path / "bad.csv", ["Image Path", "Question"], [["x", "y"]])
    with pytest.raises(DatasetError, match="lacks columns"):
        read_m3d_vqa(tmp_path / "bad.csv", tmp_path)


def test_ct_rate_reports_and_labels(tmp_path):
    diseases = ct_rate_diseases()
    assert len(diseases) == 18
    vol = tmp_path / "train" / "train_1" / "train_1_a"
    vol.mkdir(parents=True)
    (vol / "train_1_a_1.nii.gz").write_bytes(b"")
    write_csv(tmp_path / "reports.csv", ["VolumeName", "ClinicalInformation_EN", "Technique_EN", "Findings_EN", "Impressions_EN"],
              [["train_1_a_1.nii.gz", "", "", "Emphysema in both upper lobes. ", "Emphysema."]])
    labels = [1 if d in ("emphysema", "lung nodule") else 0 for d in diseases]
    write_csv(tmp_path / "labels.csv", ["VolumeName"] + [d.capitalize() for d in diseases], [["train_1_a_1.nii.gz", *labels]])
    samples = read_ct_rate(tmp_path / "reports.csv", tmp_path / "labels.csv", tmp_path)
    assert samples[0].qa.answer == "Emphysema in both upper lobes." and samples[0].image == vol / "train_1_a_1.nii.gz"
    yes = {s.qa.question.text for s in samples if s.qa.task == "yes_no" and s.qa.answer == "yes"}
    assert yes == {"Does this image show signs of emphysema?", "Does this image show signs of lung nodule?"}
    assert sum(s.qa.task == "yes_no" for s in samples) == 18
