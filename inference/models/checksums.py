"""Checking a downloaded file against what the Hub lists for it, once.

A Git LFS file (weights, GGUFs) is listed with its SHA-256; a small file kept in git itself
(config.json, tokenizer files) with its git blob id, the SHA-1 of ``"blob <size>\\0"`` and its
bytes; a listing with neither gives only the size. A file that passed is recorded (size,
modification time, SHA-256) in the download folder's ``.ctchat-verified.json``, so a rerun does
not hash gigabytes again, and any change to the file since makes it be checked afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

RECORD = ".ctchat-verified.json"
BLOCK = 1 << 20


@dataclass(frozen=True)
class Expected:
    """What the Hub lists for one file (any of the three may be unknown)."""

    size: int | None
    sha256: str | None = None  # Git LFS files
    blob_id: str | None = None  # the git blob SHA-1 of a file kept in git

    def how(self) -> str:
        """Which check :func:`matches` makes, in words (for the error sentence)."""
        return "SHA-256" if self.sha256 else "git checksum" if self.blob_id else "size"


def hashes(path: Path) -> tuple[str, str]:
    """``(SHA-256, git blob SHA-1)`` of a file, read once."""
    size = path.stat().st_size
    sha256, blob = hashlib.sha256(), hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            sha256.update(block)
            blob.update(block)
    return sha256.hexdigest(), blob.hexdigest()


def matches(path: Path, expected: Expected) -> tuple[bool, str]:
    """Whether the file is what the Hub lists, and its SHA-256 (recorded in the bundle's source)."""
    size = path.stat().st_size
    sha256, blob = hashes(path)
    if expected.size is not None and size != expected.size:
        return False, sha256
    if expected.sha256:
        return sha256 == expected.sha256.lower(), sha256
    if expected.blob_id:
        return blob == expected.blob_id.lower(), sha256
    return True, sha256


class VerifiedRecord:
    """The files of one download folder already checked (``RECORD`` in that folder)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / RECORD
        try:
            self._data: dict[str, dict] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._data = {}

    @staticmethod
    def _stamp(path: Path) -> dict:
        st = path.stat()
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}

    def known_sha256(self, rel: str, path: Path, expected: Expected) -> str | None:
        """The recorded SHA-256 when the file was checked against the same listing and has not
        changed since, else None (then it is checked again)."""
        entry = self._data.get(rel)
        listed = [expected.size, expected.sha256, expected.blob_id]
        if not entry or not path.is_file() or entry.get("expected") != listed:
            return None
        return entry["sha256"] if {k: entry.get(k) for k in ("size", "mtime_ns")} == self._stamp(path) else None

    def add(self, rel: str, path: Path, expected: Expected, sha256: str) -> None:
        self._data[rel] = {**self._stamp(path), "sha256": sha256,
                           "expected": [expected.size, expected.sha256, expected.blob_id]}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)  # a reader never sees half a record
