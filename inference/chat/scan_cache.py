"""A per-scan cache on disk: a scan's vision outputs and the LLM's KV cache of its prefix.

Reopening a scan, asking after a restart, or running a batch again skips the vision graphs and
the prefix decode (most of the time before the first answer with a full-size model). An entry
is keyed by the SHA-256 of the model input (the preprocessed voxels, so a changed scan or
recipe misses) and of the model's identity (manifest, LLM, adapter, KV cache type), so a
changed bundle misses too. File names are those hashes: no patient identifier is ever written.
The cache is size-limited: the least recently used entries go first.

Example:
    >>> cache = ScanCache(tmp_dir, max_bytes=2 << 30)                 # doctest: +SKIP
    >>> session = ChatSession(bundle, scan_cache=cache)                # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_MAX_BYTES = 4 << 30
ENTRY_SUFFIX = ".scan"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ctchat/scans`` (``~/.cache/ctchat/scans``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ctchat" / "scans"


@dataclass(frozen=True)
class CachedScan:
    """One entry: the vision graphs' outputs, the KV cache (llama.cpp's sequence state, bytes
    or uint8) and where the prefix ends."""

    scan: dict[str, np.ndarray]
    kv: bytes | np.ndarray
    prefix_end: int


class ScanCache:
    """Entries in ``folder``, at most ``max_bytes`` in all (least recently used dropped first)."""

    def __init__(self, folder: str | os.PathLike | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()
        self.max_bytes = int(max_bytes)

    @staticmethod
    def key(model_input: np.ndarray, model_id: str) -> str:
        """The entry name of a model input under a model: hex SHA-256 of both.

        Not :func:`inference.io.scan_identity` (which scan it is): an entry holds one model's
        encoding of every voxel it received, so another recipe, another bundle or any changed
        voxel must miss, and the scan identity reads only some slices of the scan.
        """
        digest = hashlib.sha256(model_id.encode())
        arr = np.ascontiguousarray(model_input)
        digest.update(f"{arr.dtype.str}{arr.shape}".encode())
        digest.update(memoryview(arr).cast("B"))
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}{ENTRY_SUFFIX}"

    def get(self, key: str) -> CachedScan | None:
        """The entry, or None (absent, or unreadable: then it is removed)."""
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                scan = {name[5:]: data[name] for name in data.files if name.startswith("scan.")}
                entry = CachedScan(scan, data["kv"], int(data["prefix_end"]))  # no copy of the KV bytes
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError):  # a damaged entry (e.g. a full disk): forget it
            path.unlink(missing_ok=True)
            return None
        _touch(path)
        return entry

    def put(self, key: str, entry: CachedScan) -> None:
        """Store an entry (atomically: a reader never sees half of it), then keep to the size
        limit. A full or read-only disk only means no caching."""
        tmp = self._path(key).with_suffix(".partial")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:  # written straight to the file: no copy in memory
                np.savez(fh, kv=np.frombuffer(entry.kv, dtype=np.uint8), prefix_end=np.int64(entry.prefix_end),
                         **{f"scan.{k}": v for k, v in entry.scan.items()})
            os.replace(tmp, self._path(key))
            _touch(self._path(key))
        except OSError:
            tmp.unlink(missing_ok=True)  # half an entry is no entry
            return
        self.trim()

    def entries(self) -> list[Path]:
        """The entry files, least recently used first."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob(f"*{ENTRY_SUFFIX}"), key=lambda p: p.stat().st_mtime_ns)

    def trim(self) -> None:
        """Drop least recently used entries until the total fits ``max_bytes``."""
        files = self.entries()
        total = sum(p.stat().st_size for p in files)
        for path in files:
            if total <= self.max_bytes:
                break
            total -= path.stat().st_size
            path.unlink(missing_ok=True)


def _touch(path: Path) -> None:
    """Mark an entry most recently used: its mtime set to now, to the nanosecond (the file
    system's own write stamps are coarser, and two entries written in one tick would tie)."""
    now = time.time_ns()
    os.utime(path, ns=(now, now))


def scan_cache_from_env(enabled: bool = True) -> ScanCache | None:
    """The app's scan cache: the default folder and size, or None when ``enabled`` is False or
    the environment says ``CTCHAT_SCAN_CACHE=0`` (the one switch that turns it off everywhere)."""
    if not enabled or os.environ.get("CTCHAT_SCAN_CACHE", "1") == "0":
        return None
    return ScanCache()
