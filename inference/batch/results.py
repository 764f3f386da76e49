"""The results file of ``ctchat batch``: one JSON line per answer (or per unreadable scan),
written and flushed to disk one at a time, so an interrupted run keeps every line it finished
and a rerun skips them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def line_key(record: dict[str, Any]) -> tuple[str, int | None]:
    """What a line answers: its scan and question row (``None``: the scan's error line)."""
    return record["scan_id"], record.get("row")


def done_keys(path: Path) -> set[tuple[str, int | None]]:
    """The keys the results file already holds; a last line cut short by a kill is dropped
    from the file so that the rerun's lines start on a line of their own."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with path.open("r+b") as f:
            f.truncate(len(complete))
    keys = set()
    for line in complete.decode("utf-8").splitlines():
        if line.strip():
            keys.add(line_key(json.loads(line)))
    return keys


def read_results(path: Path) -> list[dict[str, Any]]:
    """Every complete line of a results file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class ResultsWriter:
    """Appends lines to the results file, each on disk before the next answer starts."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        """One line, flushed and synced (NaN is not JSON: refused rather than written)."""
        self._file.write(json.dumps(record, allow_nan=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
