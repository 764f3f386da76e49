"""Restartable steps: outputs written under a temporary name, renamed when whole, and a
marker beside each finished output so that a rerun skips what is already done.

A marker ``<output>.done.json`` records what the step was made from (the inputs'
sizes and modification times, and the step's parameters) and what it wrote (each file's
size, modification time and SHA-256). A step counts as done when the marker's inputs equal
the current ones and the output files still have the recorded sizes and times; the hash is
kept for bundles to cite, not recomputed on every rerun.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterable

MARKER_SUFFIX = ".done.json"
PARTIAL_SUFFIX = ".partial"
_CHUNK = 8 << 20


def marker_path(output: Path) -> Path:
    """Where the marker of ``output`` (a file or a folder) lives."""
    return output.with_name(output.name + MARKER_SUFFIX)


def partial_path(output: Path) -> Path:
    """The temporary name ``output`` is written under until it is complete."""
    return output.with_name(output.name + PARTIAL_SUFFIX)


def file_stamps(paths: Iterable[Path], root: Path | None = None) -> dict[str, list[int]]:
    """``{name: [size, mtime_ns]}`` of each file, named relative to ``root`` when given."""
    stamps = {}
    for path in sorted(paths):
        st = path.stat()
        name = str(path.relative_to(root)) if root is not None else str(path.resolve())
        stamps[name] = [st.st_size, st.st_mtime_ns]
    return stamps


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 8 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _output_files(output: Path) -> list[Path]:
    if output.is_dir():
        return sorted(p for p in output.rglob("*") if p.is_file())
    return [output]


def describe_output(output: Path) -> dict[str, dict]:
    """``{name: {size, mtime_ns, sha256}}`` of each file of ``output`` (a file or a folder);
    a symbolic link gets its target instead of a hash."""
    root = output if output.is_dir() else output.parent
    described = {}
    for path in _output_files(output):
        st = path.stat()
        entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        if path.is_symlink():  # a linked source file: its stamps are among the step's inputs
            entry["link"] = str(path.resolve())
        else:
            entry["sha256"] = sha256_file(path)
        described[str(path.relative_to(root))] = entry
    return described


def finished(output: Path, inputs: dict) -> dict | None:
    """The marker of ``output`` if the step that wrote it is complete for these ``inputs``.

    Returns None when there is no marker, when it was written for other inputs, or when an
    output file is missing or was changed since (size or modification time differ).
    """
    marker = marker_path(output)
    if not marker.is_file() or not output.exists():
        return None
    try:
        record = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if record.get("inputs") != inputs:
        return None
    root = output if output.is_dir() else output.parent
    recorded = record.get("output", {})
    present = {str(p.relative_to(root)) for p in _output_files(output)}
    if present != set(recorded):
        return None
    for name, meta in recorded.items():
        st = (root / name).stat()
        if st.st_size != meta.get("size") or st.st_mtime_ns != meta.get("mtime_ns"):
            return None
    return record


def mark_finished(output: Path, step: str, inputs: dict) -> dict:
    """Write the marker of a just-completed ``output``; returns the record written."""
    record = {"step": step, "inputs": inputs, "output": describe_output(output)}
    marker = marker_path(output)
    tmp = partial_path(marker)
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    os.replace(tmp, marker)
    return record


def annotate(output: Path, **extra) -> None:
    """Add facts (e.g. a summary of what the step did) to the marker of ``output``."""
    marker = marker_path(output)
    record = json.loads(marker.read_text())
    record.update(extra)
    tmp = partial_path(marker)
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    os.replace(tmp, marker)


def discard(path: Path) -> None:
    """Remove a file or folder (a stale output, a partial one, or its marker) if present."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def start(output: Path) -> Path:
    """Prepare to (re)write ``output``: drop its marker, the old output and any partial one;
    returns the temporary path to write to."""
    discard(marker_path(output))
    discard(output)
    tmp = partial_path(output)
    discard(tmp)
    return tmp


def commit(tmp: Path, output: Path, step: str, inputs: dict) -> dict:
    """Rename the finished ``tmp`` to ``output`` and mark it done; returns the marker record."""
    os.replace(tmp, output)
    return mark_finished(output, step, inputs)
