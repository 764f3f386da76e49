"""What ``ctchat batch`` runs: scans found in a folder, or rows of a CSV/JSONL table.

A scan is named by ``scan_id``: by default a hash of its path relative to the input (and of its
series when a folder holds several), so no folder name (often a patient's) reaches the results;
``id_style="path"`` keeps the relative path instead.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..io.errors import CTLoadError
from ..io.loader import is_volume_file, list_series
from ..question import MAX_CHOICES, Question, QuestionError

CHOICE_SEPARATORS = r"[;|]"
TABLE_SUFFIXES = (".csv", ".jsonl")
NOT_SCANS = (".json", ".csv", ".jsonl", ".txt", ".md", ".xml")  # beside scans, never one


@dataclass
class ScanJob:
    """One scan and the questions asked about it, in input order.

    The ints in ``questions`` are the questions' keys in the results (the row number of a
    table, or the question's position for a folder); ``error`` is set when the scan is known
    unreadable; ``unaskable`` holds the rows whose question cannot be asked at all. ``index``
    is the job's place in the input (from 0, the same in a rerun): what names its
    ``--save-model-input`` folders, which must hold no folder or patient name.
    """

    scan_id: str
    path: str
    series_uid: str | None
    questions: list[tuple[int, Question]] = field(default_factory=list)
    error: str = ""
    unaskable: list["UnaskableRow"] = field(default_factory=list)
    index: int = 0


@dataclass(frozen=True)
class UnaskableRow:
    """A table row whose question cannot be asked (no disease for a yes/no question, one
    choice, an unknown task): it becomes an error line of its own, the other rows run."""

    row: int
    question: str
    task: str
    error: str


def scan_id(relative: str, series_uid: str | None, id_style: str) -> str:
    """The scan's name in the results: a 16-hex hash, or the relative path (``#n`` per series).

    Named by where the input is, not by :func:`inference.io.scan_identity` (what the scan is): a
    rerun must know which rows are done before it reads any scan, and a scan that cannot be read
    still needs a name for its error line.
    """
    if id_style == "path":
        return relative if series_uid is None else f"{relative}#{_short_hash(series_uid)}"
    return _short_hash(relative + "\0" + (series_uid or ""))


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def folder_jobs(root: Path, questions: list[Question], id_style: str = "hash") -> list[ScanJob]:
    """Every NIfTI file, ``.npy`` model array and DICOM series under ``root``, each asked ``questions``.

    A folder holding DICOM files is one study: its series (subfolders included) are listed by
    the loader, so a series split across subfolders stays whole; a folder that cannot be read as
    DICOM becomes one job carrying the loader's sentence.
    """
    jobs: list[ScanJob] = []
    numbered = list(enumerate(questions))
    for path in _scan_roots(root):
        rel = path.relative_to(root).as_posix() or "."
        if path.is_file():
            jobs.append(ScanJob(scan_id(rel, None, id_style), str(path), None, list(numbered)))
            continue
        try:
            series = list_series(path)
        except CTLoadError as exc:
            jobs.append(ScanJob(scan_id(rel, None, id_style), str(path), None, list(numbered), str(exc)))
            continue
        several = len(series) > 1
        for s in series:
            uid = s.uid if several else None
            jobs.append(ScanJob(scan_id(rel, uid, id_style), str(path), uid, list(numbered), s.status))
    return numbered_jobs(jobs)


def numbered_jobs(jobs: list[ScanJob]) -> list[ScanJob]:
    """``jobs`` with each one's :attr:`ScanJob.index` set to its place in the list."""
    for n, job in enumerate(jobs):
        job.index = n
    return jobs


def _scan_roots(root: Path) -> list[Path]:
    """NIfTI and ``.npy`` files, and the top-most folders that directly hold other (DICOM) files."""
    if root.is_file():
        return [root]
    found: list[Path] = []
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        names = sorted(n for n in names if not n.startswith("."))
        found.extend(Path(here, n) for n in names if is_volume_file(Path(n)))
        if any(not is_volume_file(Path(n)) and not n.lower().endswith(NOT_SCANS) for n in names):
            found.append(Path(here))
            dirs[:] = []  # the loader reads this study's subfolders itself
    return sorted(found)


def table_jobs(table: Path, id_style: str = "hash") -> list[ScanJob]:
    """The rows of a CSV or JSONL file: ``scan`` (relative to the table), ``question``, and
    optionally ``task``, ``choices`` (a list in JSONL; in CSV one cell, the options separated
    by ``;``), ``disease`` and ``series``."""
    rows = _read_rows(table)
    jobs: dict[tuple[str, str | None], ScanJob] = {}
    for i, row in enumerate(rows):
        scan = str(row.get("scan") or "").strip()
        if not scan:
            raise CTLoadError(f"row {i + 1} of {table.name} names no scan (a 'scan' column is needed)")
        series = str(row.get("series") or "") or None
        key = (scan, series)
        if key not in jobs:
            path = Path(scan) if Path(scan).is_absolute() else table.parent / scan
            jobs[key] = ScanJob(scan_id(scan, series, id_style), str(path), series)
        try:
            jobs[key].questions.append((i, _row_question(row)))
        except QuestionError as exc:
            jobs[key].unaskable.append(UnaskableRow(i, str(row.get("question") or ""), str(row.get("task") or "open"),
                                                    f"row {i + 1}: this question cannot be asked: {exc}"))
    return numbered_jobs(list(jobs.values()))


def _read_rows(table: Path) -> list[dict]:
    if not table.is_file():
        raise CTLoadError(f"{table} does not exist")
    text = table.read_text(encoding="utf-8-sig")
    if table.suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise CTLoadError(f"line {n} of {table.name} is not JSON") from None
    return rows


def split_choices(text: str) -> tuple[str, ...]:
    """A table cell's options: separated by ``;`` as in the viewer's choice box (``|``, the
    earlier separator, still works)."""
    return tuple(c.strip() for c in re.split(CHOICE_SEPARATORS, text) if c.strip())


def _row_question(row: dict) -> Question:
    task = str(row.get("task") or "open")
    choices = row.get("choices") or ()
    cell = isinstance(choices, str)
    if cell:
        choices = split_choices(choices)
    if task == "yes_no":
        return Question.yes_no(str(row.get("disease") or ""))
    if task == "open":
        return Question.typed(str(row.get("question") or ""))
    try:
        return Question(task, str(row.get("question") or ""), tuple(choices))
    except QuestionError as exc:
        if task == "choice" and cell and not 2 <= len(choices) <= MAX_CHOICES:
            raise QuestionError(f"{exc}; {len(choices)} found in the choices column "
                                "(separate the options with ';', e.g. 'left lung; right lung')") from None
        raise
