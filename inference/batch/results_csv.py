"""``ctchat batch ... --csv results.csv``: the results file as a table, one row per JSON line, for
a spreadsheet or pandas. The JSON lines stay the record a rerun resumes from; the CSV is written
anew from all of them at the end of each run, so it always holds every line."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from .results import read_results

LIST_SEPARATOR = "; "  # the batch input's choice separator, so a row's choices read back as typed
COLUMNS = (
    "scan_id", "row", "question", "task", "choices", "disease", "answer", "choice", "choice_text",
    "yes_probability", "region", "region_message", "notes", "slice_grid", "n_slices", "top_slices",
    "sent_slices", "model_input", "warnings", "error", "bundle", "bundle_version", "ctchat_version",
)


def csv_row(record: dict[str, Any]) -> list[str]:
    """One results line as the CSV's cells (empty where the line has nothing to say)."""
    choice = record.get("choice") or {}
    region = record.get("region") or {}
    scores = record.get("slice_scores") or {}
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
        "slice_grid": scores.get("slice_grid") or sent.get("slice_grid", ""),
        "n_slices": scores.get("n_slices") or sent.get("n_slices", ""),
        "top_slices": " ".join(str(k) for k in scores.get("top_slices", ())),  # counted from 1
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
