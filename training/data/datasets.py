"""Readers for the published datasets, pointing at data on disk (nothing is downloaded).

* **M3D-Cap**: a JSON file ``{"train": [{"image": "x.npy", "text": "x.txt"}, ...], ...}``;
  images are M3D's preprocessed arrays ``(1, 32, 256, 256)`` in [0, 1], texts are captions.
* **M3D-VQA**: CSV files with ``Image Path, Question Type, Question, Choice A..D, Answer,
  Answer Choice``; five question types (plane, phase, organ, abnormality, location), each
  asked open-ended or as multiple choice (answer ``"<letter>. <answer>"``, as M3D trains it).
* **CT-RATE**: a reports CSV (``VolumeName``, ``Findings_EN``, ``Impressions_EN``, ...) and a
  labels CSV (``VolumeName`` and one 0/1 column per abnormality, 18 in all); volumes are NIfTI
  files found by name under a root folder. Each label becomes the papers' yes/no question.

All readers return :class:`~training.data.synthetic.QA` items (with the image reference)
so training and evaluation treat every source alike.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from inference.llm.prompt import ct_rate_diseases
from inference.question import Question
from training.data.synthetic import QA

VQA_COLUMNS = ("Image Path", "Question Type", "Question", "Choice A", "Choice B", "Choice C", "Choice D", "Answer", "Answer Choice")
M3D_QUESTION_TYPES = {1: "plane", 2: "phase", 3: "organ", 4: "abnormality", 5: "location"}


class DatasetError(Exception):
    """A dataset file that is missing or not in the documented format."""


@dataclass(frozen=True)
class Sample:
    """One training or evaluation item: where its image is, and the question with its answer."""

    image: Path
    qa: QA
    source: str  # m3d_cap, m3d_vqa, ct_rate, synthetic


def read_m3d_cap(json_path: str | Path, data_root: str | Path, split: str = "train") -> list[Sample]:
    """Captions of M3D-Cap's ``split`` as report-task samples."""
    json_path, root = Path(json_path), Path(data_root)
    try:
        table = json.loads(json_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{json_path}: cannot read M3D-Cap JSON ({exc})") from exc
    if split not in table:
        raise DatasetError(f"{json_path.name} has no split {split!r} (it has {sorted(table)})")
    samples = []
    for n, item in enumerate(table[split]):
        try:
            text = (root / item["text"]).read_text().strip()
            image = root / item["image"]
        except KeyError as exc:
            raise DatasetError(f"{json_path.name} {split}[{n}] lacks {exc}") from exc
        except OSError as exc:
            raise DatasetError(f"{json_path.name} {split}[{n}]: caption file unreadable ({exc})") from exc
        samples.append(Sample(image, QA("findings", Question.findings(), text), "m3d_cap"))
    return samples


def read_m3d_vqa(csv_path: str | Path, data_root: str | Path, closed: bool = True) -> list[Sample]:
    """M3D-VQA rows as multiple-choice (``closed``) or open questions."""
    rows = _read_csv(Path(csv_path), VQA_COLUMNS)
    root = Path(data_root)
    samples = []
    for row in rows:
        kind = M3D_QUESTION_TYPES.get(int(float(row["Question Type"])), "other")
        if closed:
            choices = tuple(row[f"Choice {c}"] for c in "ABCD")
            qa = QA(kind, Question("choice", row["Question"], choices), f"{row['Answer Choice'].strip()}. {row['Answer']}")
        else:
            qa = QA(kind, Question("open", row["Question"]), row["Answer"])
        samples.append(Sample(root / row["Image Path"], qa, "m3d_vqa"))
    return samples


def read_ct_rate(reports_csv: str | Path, labels_csv: str | Path, volumes_root: str | Path) -> list[Sample]:
    """CT-RATE reports (findings) and one yes/no question per abnormality label."""
    diseases = ct_rate_diseases()
    labels = {r["VolumeName"]: r for r in _read_csv(Path(labels_csv), ("VolumeName",))}
    header = next(iter(labels.values()), {})
    columns = {d: next((k for k in header if k.strip().lower() == d), None) for d in diseases}
    missing = [d for d, col in columns.items() if col is None]
    if labels and missing:
        raise DatasetError(f"{Path(labels_csv).name} lacks label columns: {', '.join(missing)}")
    index = {p.name: p for p in Path(volumes_root).rglob("*.nii.gz")}
    samples = []
    for report in _read_csv(Path(reports_csv), ("VolumeName", "Findings_EN")):
        name = report["VolumeName"]
        image = index.get(name, Path(volumes_root) / name)
        samples.append(Sample(image, QA("findings", Question.findings(), report["Findings_EN"].strip()), "ct_rate"))
        row = labels.get(name)
        if row is None:
            continue
        for disease, col in columns.items():
            answer = "yes" if float(row[col]) >= 0.5 else "no"
            samples.append(Sample(image, QA("disease", Question.yes_no(disease), answer), "ct_rate"))
    return samples


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            lacking = [c for c in required if c not in (reader.fieldnames or [])]
            if lacking:
                raise DatasetError(f"{path.name} lacks columns: {', '.join(lacking)}")
            return list(reader)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from exc
