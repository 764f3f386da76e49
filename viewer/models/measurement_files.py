"""Measurements kept on disk with their scan, so that they are there again after the viewer
closes (as 3D Slicer's and Weasis's annotations are).

One JSON file per scan, ``<data dir>/measurements/<key>.json``, where ``key`` is
:func:`inference.io.scan_identity`: a hash of the voxels and geometry, so neither the file's name
nor its content holds the patient's name or ID. The content is ``{"version": 1, "records":
[...]}``, each record :func:`dataclasses.asdict` of a :class:`MeasurementRecord`.

Nothing here raises at the user: a file that cannot be read is moved aside (``.bad``, kept for
whoever wants to look) and the scan starts with no records; a write that fails keeps the records
in memory for as long as the viewer runs. Either way :attr:`MeasurementFileStore.problem` holds
one plain sentence the window can show.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Sequence

from inference.resources import data_dir

from .measurement_records import MeasurementRecord

FORMAT_VERSION = 1
FOLDER_NAME = "measurements"
BAD_SUFFIX = ".bad"
# scan_identity's 32 hex digits; anything else could name a file outside the folder.
_KEY = re.compile(r"[0-9a-f]{32}")


class DamagedFile(ValueError):
    """A measurements file whose content is not what this module writes."""


class MeasurementFileStore:
    """The measurements of each scan, one JSON file per scan (same calls as an in-memory store:
    :meth:`for_scan` and :meth:`keep`)."""

    def __init__(self, folder: str | Path | None = None) -> None:
        # None: the app's data folder, looked up at each call (it follows CTCHAT_DATA_DIR).
        self._folder = Path(folder) if folder is not None else None
        # Records whose last write failed: memory is newer than the disk for these scans.
        self._unsaved: dict[str, list[MeasurementRecord]] = {}
        # Damaged files that could not be moved aside: never written over, so nothing is lost.
        self._stuck: set[str] = set()
        self.problem: str | None = None  # what went wrong in the last call, one sentence; None: nothing

    @property
    def folder(self) -> Path:
        """Where the files lie."""
        return self._folder if self._folder is not None else data_dir() / FOLDER_NAME

    def path_for(self, key: str) -> Path:
        """The file of the scan ``key`` identifies."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"{key!r} is not a scan identity (32 lowercase hex digits).")
        return self.folder / f"{key}.json"

    def for_scan(self, key: str) -> list[MeasurementRecord]:
        """The records of the scan ``key`` identifies (empty the first time, or when its file
        was damaged: then it is moved aside and :attr:`problem` says so)."""
        self.problem = None
        if key in self._unsaved:
            return list(self._unsaved[key])
        try:
            path = self.path_for(key)
            text = path.read_bytes()  # (json decodes it: bytes that are not text are damage too)
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.problem = f"The saved measurements of this scan could not be read ({_reason(exc)})."
            return []
        try:
            return records_from_json(text)
        except DamagedFile as exc:
            moved, detail = _set_aside(path)
            if moved:
                self.problem = (f"The saved measurements of this scan were damaged ({exc}): the file is kept "
                                f"as {detail} and the scan opens without them.")
            else:
                self._stuck.add(key)
                self.problem = (f"The saved measurements of this scan were damaged ({exc}) and the file could "
                                f"not be moved aside ({detail}): it is left as it is and the scan opens without them.")
            return []

    def keep(self, key: str, records: Sequence[MeasurementRecord]) -> None:
        """Replace the scan's records on disk (none: its file is removed). A failed write keeps
        them in memory and :attr:`problem` says so."""
        self.problem = None
        records = list(records)
        try:
            path = self.path_for(key)
            if key in self._stuck and path.exists():
                moved, detail = _set_aside(path)
                if not moved:
                    self._unsaved[key] = records
                    self.problem = (f"The measurements were not saved, so as not to write over this scan's damaged "
                                    f"file, which could not be moved aside ({detail}); they are kept until the "
                                    "viewer closes.")
                    return
            self._stuck.discard(key)
            if records:
                _write_atomically(path, records_to_json(records))
            elif path.exists():  # (False, not an error, when the folder is missing or a file)
                path.unlink()
        except OSError as exc:
            self._unsaved[key] = records
            self.problem = (f"The measurements could not be saved to disk ({_reason(exc)}); "
                            "they are kept until the viewer closes.")
            return
        self._unsaved.pop(key, None)


def records_to_json(records: Sequence[MeasurementRecord]) -> str:
    """The file's content: the format version and each record's fields."""
    return json.dumps({"version": FORMAT_VERSION, "records": [dataclasses.asdict(r) for r in records]}, indent=1)


def records_from_json(text: str | bytes) -> list[MeasurementRecord]:
    """The records :func:`records_to_json` wrote. Fields this version does not know (written by a
    newer one) are left out and lists become tuples again; anything else raises
    :class:`DamagedFile` with the reason."""
    try:
        content = json.loads(text)
    except ValueError as exc:  # UnicodeDecodeError too
        raise DamagedFile("not JSON") from exc
    if not isinstance(content, dict) or content.get("version") != FORMAT_VERSION:
        version = content.get("version") if isinstance(content, dict) else None
        raise DamagedFile(f"format version {version!r}, this viewer reads {FORMAT_VERSION}")
    entries = content.get("records")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DamagedFile("no list of records")
    known = {f.name for f in dataclasses.fields(MeasurementRecord)}
    records = []
    for entry in entries:
        fields = {name: _tuples(value) for name, value in entry.items() if name in known}
        try:
            record = MeasurementRecord(**fields)
        except TypeError as exc:  # a field it needs is missing
            raise DamagedFile("a record lacks a field") from exc
        wrong = _wrong_value(record)
        if wrong:
            raise DamagedFile(f"a record has {wrong}")
        records.append(record)
    return records


def _numbers(value: Any, n: int) -> bool:
    return (isinstance(value, tuple) and len(value) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value))


def _wrong_value(record: MeasurementRecord) -> str:
    """What in ``record`` the views could not draw ("" when nothing): its kind, plane, slice,
    corners and, for one drawn on a turned plane, the rotation (9 numbers)."""
    if record.kind not in ("ruler", "ellipse") or record.plane not in ("axial", "coronal", "sagittal"):
        return "an unknown kind or plane"
    if not isinstance(record.slice_index, int) or isinstance(record.slice_index, bool) or record.slice_index < 0:
        return "no slice number"
    if not (_numbers(record.ijk0, 3) and _numbers(record.ijk1, 3)):
        return "corners that are not three numbers"
    oblique = getattr(record, "oblique", None)
    if oblique is not None and not _numbers(oblique, 9):
        return "a rotation that is not nine numbers"
    return ""


def _tuples(value: Any) -> Any:
    """JSON's lists as the tuples the (frozen, hashable) record holds."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _write_atomically(path: Path, text: str) -> None:
    # A temporary file in the same folder, then one rename: a crash leaves the old file or the
    # new one, never half of one.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _set_aside(path: Path) -> tuple[bool, str]:
    """Move a damaged file aside (never over an earlier one): whether it moved, and the new
    file's name or why it did not move."""
    target = path.with_name(path.name + BAD_SUFFIX)
    number = 1
    while target.exists():
        number += 1
        target = path.with_name(f"{path.name}.{number}{BAD_SUFFIX}")
    try:
        os.replace(path, target)
    except OSError as exc:
        return False, _reason(exc)
    return True, target.name


def _reason(exc: OSError) -> str:
    """An OS error in a few words (``Permission denied``), without a traceback."""
    return exc.strerror or type(exc).__name__
