"""``ctchat eval --dataset``: a published benchmark read from disk, answered by ``ctchat batch``
(resumable, ``--workers``/``--ray`` alike) and scored with the papers' metrics.

* M3D-VQA: closed questions scored by M3D-Bench's ``"X."`` rule (accuracy per question type,
  macro and micro); open questions by BLEU-1, ROUGE-1, METEOR and BERTScore per type.
* M3D-Cap: the captions against the reports, BLEU-1, ROUGE-1, METEOR, BERTScore.
* CT-RATE: the findings (the same text metrics) and its 18 labels as yes/no questions: balanced
  accuracy, precision, recall and F1 per label, macro (mean over labels) and micro (pooled).

Rows the model could not answer (an unreadable scan) are counted and named in the table, not
scored as wrong and not hidden.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.batch.results import read_results
from inference.batch.runner import RunSettings
from inference.commands.batch import jobs_for, run_jobs
from training.data.datasets import DatasetError, Sample, read_ct_rate, read_m3d_cap, read_m3d_vqa
from training.evaluation.metrics import binary_scores, closed_correct, macro_micro, parse_yes_no, text_metrics


@dataclass(frozen=True)
class TableRow:
    """One line of the printed table and of the CSV."""

    group: str  # e.g. "closed accuracy", "findings", "yes/no labels"
    name: str  # a question type, a label, "macro", "micro", or a metric
    metric: str
    value: float
    n: int


def read_dataset(dataset: str, path: Path, split: str, closed: bool) -> list[Sample]:
    """The samples of a published dataset at ``path`` (M3D-VQA: its CSV; M3D-Cap: its JSON;
    CT-RATE: a folder holding its reports and labels CSVs and the volumes)."""
    if dataset == "m3d-vqa":
        return read_m3d_vqa(path, path.parent, closed=closed)
    if dataset == "m3d-cap":
        return read_m3d_cap(path, path.parent, split=split)
    reports = _one_csv(path, "report")
    labels = _one_csv(path, "label")
    return read_ct_rate(reports, labels, path)


def _one_csv(folder: Path, word: str) -> Path:
    found = sorted(p for p in folder.rglob("*.csv") if word in p.name.lower())
    if len(found) != 1:
        raise DatasetError(f"{folder} should hold one CSV with '{word}' in its name (found {len(found)})")
    return found[0]


def write_table(samples: list[Sample], table: Path) -> None:
    """The samples as ``ctchat batch``'s JSONL input, row ``i`` being sample ``i``."""
    with table.open("w", encoding="utf-8") as f:
        for s in samples:
            q = s.qa.question
            f.write(json.dumps({"scan": str(s.image.resolve()), "question": q.text, "task": q.task,
                                "choices": list(q.choices), "disease": q.disease}) + "\n")


def answer_samples(samples: list[Sample], work: Path, settings: RunSettings, workers: int = 1,
                   ray_address: str | None = None) -> dict[int, dict]:
    """Every sample answered through ``ctchat batch`` (rerun: only what is missing); the result
    line per sample row (an unreadable scan's rows share its error line)."""
    table, results = work / "questions.jsonl", work / "results.jsonl"
    write_table(samples, table)
    run_jobs(jobs_for(table, [], "hash"), results, settings, workers, ray_address)
    by_row: dict[int, dict] = {}
    for record in read_results(results):
        for row in record["rows"] if record.get("row") is None else [record["row"]]:
            by_row[row] = record
    return by_row


def score(samples: list[Sample], by_row: dict[int, dict], bertscore: bool = True) -> list[TableRow]:
    """The papers' table rows for the answered samples."""
    answered = {i: r for i, r in by_row.items() if "error" not in r}
    rows = [TableRow("coverage", "answered", "fraction", len(answered) / max(1, len(samples)), len(samples))]
    closed = [(s.qa.kind, closed_correct(answered[i]["answer"], s.qa.answer.split(".")[0]))
              for i, s in enumerate(samples) if i in answered and s.qa.task == "choice"]
    rows += _closed_rows(closed)
    for kind in sorted({s.qa.kind for s in samples if s.qa.task in ("open", "report")}):
        pairs = [(answered[i]["answer"], s.qa.answer) for i, s in enumerate(samples)
                 if i in answered and s.qa.kind == kind and s.qa.task in ("open", "report")]
        if pairs:
            metrics = text_metrics([p for p, _ in pairs], [r for _, r in pairs], bertscore)
            rows += [TableRow("text", kind, m, v, len(pairs)) for m, v in metrics.items()]
    rows += _yes_no_rows([(s.qa.question.disease, parse_yes_no(answered[i]["answer"]), s.qa.answer == "yes")
                          for i, s in enumerate(samples) if i in answered and s.qa.task == "yes_no"])
    return rows


def _closed_rows(closed: list[tuple[str, bool]]) -> list[TableRow]:
    if not closed:
        return []
    per_type: dict[str, list[float]] = {}
    for kind, ok in closed:
        per_type.setdefault(kind, []).append(float(ok))
    rows = [TableRow("closed (M3D-Bench 'X.' rule)", k, "accuracy", float(np.mean(v)), len(v))
            for k, v in sorted(per_type.items())]
    averages = macro_micro(per_type)
    return rows + [TableRow("closed (M3D-Bench 'X.' rule)", a, "accuracy", averages[a], len(closed))
                   for a in ("macro", "micro")]


def _yes_no_rows(items: list[tuple[str, bool | None, bool]]) -> list[TableRow]:
    if not items:
        return []
    group, rows, per_label = "CT-RATE labels (yes/no)", [], {}
    for disease, said, truth in items:
        per_label.setdefault(disease, []).append((said, truth))
    fields = ("balanced_accuracy", "precision", "recall", "f1")
    scored = {d: binary_scores([s for s, _ in v], [t for _, t in v]) for d, v in per_label.items()}
    for disease, sc in sorted(scored.items()):
        rows += [TableRow(group, disease, f, getattr(sc, f), sc.n) for f in fields]
    micro = binary_scores([s for _, s, _ in items], [t for _, _, t in items])
    for f in fields:
        rows.append(TableRow(group, "macro", f, float(np.mean([getattr(s, f) for s in scored.values()])), len(items)))
        rows.append(TableRow(group, "micro", f, getattr(micro, f), len(items)))
    return rows


def print_table(title: str, rows: list[TableRow]) -> None:
    """The table as the papers lay it out: one block per group, a row per type or label."""
    print(title)
    group = None
    for r in rows:
        if r.group != group:
            group = r.group
            print(f"\n  {group}")
        print(f"    {r.name:<32}{r.metric:<20}{r.value:>8.3f}   n={r.n}")


def write_csv(rows: list[TableRow], path: Path, dataset: str, bundle: str) -> None:
    """The table as CSV (dataset, bundle, group, name, metric, value, n)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["dataset", "bundle", "group", "name", "metric", "value", "n"])
        out.writerows([dataset, bundle, r.group, r.name, r.metric, f"{r.value:.6f}", r.n] for r in rows)
