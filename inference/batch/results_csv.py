"""``ctchat batch ... --csv results.csv``: the results file as a table, one row per JSON line, for
a spreadsheet or pandas. The JSON lines stay the record a rerun resumes from; the CSV is written
anew from all of them at the end of each run, so it always holds every line.

Beside it, ``results.slices.csv`` holds every slice's value of both kinds of scores in long
format (``scan_id, bundle, question, method, stored_slice, value``; method ``tgis`` or
``occlusion``), the layout of ``ctchat ask``'s model comparison, so the one-row-per-answer table
keeps only each kind's top slices (``top_slices``: TG-IS's, as before; ``occlusion_top_slices``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from .results import read_results

LIST_SEPARATOR = "; "  # the batch input's choice separator, so a row's choices read back as typed
COLUMNS = (
    "scan_id", "row", "question", "task", "choices", "disease", "answer", "choice", "choice_text",
    "yes_probability", "region", "region_message", "notes", "slice_grid", "n_slices", "top_slices",
    "occlusion_top_slices", "occlusion_reason", "sent_slices", "model_input", "warnings", "error", "bundle",
    "bundle_version", "ctchat_version",
)


def csv_row(record: dict[str, Any]) -> list[str]:
    """One results line as the CSV's cells (empty where the line has nothing to say)."""
    choice = record.get("choice") or {}
    region = record.get("region") or {}
    scores = record.get("slice_scores") or {}
    relevance = record.get("slice_relevance") or {}  # occlusion's (batch --relevance)
    sent = record.get("sent_slices") or {}  # a slice-set model's: the stored slices it was given
    bundle = record.get("bundle") or {}
    p_yes = record.get("yes_probability")
    row = record.get("row")
    cells = {
        "scan_id": record.get("scan_id", ""),
        # a scan's error line answers no single row: the rows it stands for
        "row": " ".join(str(r) for r in record.get("rows", ())) if row is None else row,
        "question": record.get("question", ""),
        "task": record.get("task", ""),
        "choices": LIST_SEPARATOR.join(record.get("choices") or ()),
        "disease": record.get("disease") or "",
        "answer": record.get("answer", ""),
        "choice": choice.get("letter", ""),
        "choice_text": choice.get("text", ""),
        "yes_probability": "" if p_yes is None else p_yes,
        "region": region.get("status", ""),
        "region_message": region.get("message", ""),
        "notes": "\n".join(record.get("notes") or ()),
        "slice_grid": scores.get("slice_grid") or relevance.get("slice_grid") or sent.get("slice_grid", ""),
        "n_slices": scores.get("n_slices") or relevance.get("n_slices") or sent.get("n_slices", ""),
        "top_slices": " ".join(str(k) for k in scores.get("top_slices", ())),  # TG-IS's, counted from 1
        "occlusion_top_slices": " ".join(str(k) for k in relevance.get("top_slices", ())),  # counted from 1
        "occlusion_reason": record.get("slice_relevance_reason", ""),
        "sent_slices": " ".join(str(k) for k in sent.get("slices", ())),  # counted from 1
        "model_input": record.get("model_input", ""),
        "warnings": "\n".join(record.get("warnings") or ()),
        "error": record.get("error", ""),
        "bundle": bundle.get("name", ""),
        "bundle_version": bundle.get("version", ""),
        "ctchat_version": record.get("ctchat_version", ""),
    }
    return [str(cells[c]) for c in COLUMNS]


def write_results_csv(results: Path, out: Path) -> int:
    """Write every line of the results file ``results`` to ``out`` as CSV; the rows written."""
    records = read_results(results) if results.exists() else []
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(csv_row(r) for r in records)
    return len(records)


SLICE_COLUMNS = ("scan_id", "bundle", "question", "method", "stored_slice", "value")


def slices_csv_path(table: Path) -> Path:
    """Where the long per-slice CSV of the table ``table`` goes: ``r.csv`` -> ``r.slices.csv``."""
    return table.with_suffix(".slices.csv")


def strips(record: dict[str, Any]) -> list[tuple[str, list[float]]]:
    """A results line's per-slice values, ``(method, one value per stored slice)``, for each
    kind it holds: TG-IS's scores, occlusion's relevance (nats)."""
    found = []
    for method, key in (("tgis", "slice_scores"), ("occlusion", "slice_relevance")):
        values = (record.get(key) or {}).get("original_slices")
        if values:
            found.append((method, values))
    return found


def write_slices_csv(results: Path, out: Path) -> int:
    """Every slice's value of every answer's scores in ``results``, one row each, to ``out``
    (:data:`SLICE_COLUMNS`; ``stored_slice`` counted from 1); the rows written."""
    records = read_results(results) if results.exists() else []
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(SLICE_COLUMNS)
        for record in records:
            head = [record.get("scan_id", ""), (record.get("bundle") or {}).get("name", ""), record.get("question", "")]
            for method, values in strips(record):
                writer.writerows([*head, method, k + 1, value] for k, value in enumerate(values))
                n += len(values)
    return n
