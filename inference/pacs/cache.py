"""The local copy of retrieved series: fetched once, resumed when a transfer is cut.

Layout: ``<data_dir>/pacs/cache/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``.
Each instance is written to a ``.part`` file and renamed when whole, so a cut transfer leaves
only whole files and a rerun fetches just the instances that are missing. A ``.complete`` file
marks a series whose every instance arrived. Past the size limit (``CTCHAT_PACS_CACHE_GB``,
default 20 GB) the least recently used series are removed, never the one just retrieved.
"""

from __future__ import annotations

import os
import re
import shutil

from pathlib import Path

from ..resources import data_dir
from .errors import PacsError

DEFAULT_LIMIT_GB = 20.0
COMPLETE = ".complete"
_UID = re.compile(r"^[0-9.]{1,64}$")


def cache_root() -> Path:
    """The cache folder."""
    return data_dir() / "pacs" / "cache"


def checked_uid(uid: str, what: str) -> str:
    """A UID safe to use as a folder name (a PACS or a user could give anything)."""
    uid = uid.strip()
    if not _UID.match(uid):
        raise PacsError(f"{uid!r} is not a DICOM UID ({what}: digits and dots, at most 64)")
    return uid


class SeriesFolder:
    """One series' folder in the cache."""

    def __init__(self, study_uid: str, series_uid: str, root: Path | None = None) -> None:
        self.path = (root or cache_root()) / checked_uid(study_uid, "study") / checked_uid(series_uid, "series")
        self.path.mkdir(parents=True, exist_ok=True)

    def have(self) -> set[str]:
        """SOPInstanceUIDs already stored whole."""
        return {p.stem for p in self.path.glob("*.dcm")}

    def instance_path(self, sop_uid: str) -> Path:
        """Where an instance is kept."""
        return self.path / f"{checked_uid(sop_uid, 'instance')}.dcm"

    def write(self, sop_uid: str, data: bytes) -> Path:
        """Store one instance's file bytes whole (a ``.part`` renamed when written)."""
        final = self.instance_path(sop_uid)
        part = final.with_suffix(".part")
        part.write_bytes(data)
        os.replace(part, final)
        return final

    def write_dataset(self, dataset) -> Path:  # noqa: ANN001 - a pydicom Dataset with file meta
        """Store one received dataset as a DICOM file."""
        final = self.instance_path(str(dataset.SOPInstanceUID))
        part = final.with_suffix(".part")
        dataset.save_as(part, enforce_file_format=True)
        os.replace(part, final)
        return final

    @property
    def complete(self) -> bool:
        """Whether every instance arrived the last time it was retrieved."""
        return (self.path / COMPLETE).exists()

    def mark_complete(self) -> None:
        """Every instance is here."""
        (self.path / COMPLETE).touch()
        for part in self.path.glob("*.part"):  # a leftover of a cut write
            part.unlink(missing_ok=True)

    def touch(self) -> None:
        """Mark it used now (the size limit removes the least recently used)."""
        os.utime(self.path, None)


def limit_bytes() -> int:
    """The cache's size limit."""
    raw = os.environ.get("CTCHAT_PACS_CACHE_GB", str(DEFAULT_LIMIT_GB))
    try:
        return int(float(raw) * 1e9)
    except ValueError:
        raise PacsError(f"CTCHAT_PACS_CACHE_GB must be a number of gigabytes, not {raw!r}") from None


def enforce_limit(keep: Path, root: Path | None = None, limit: int | None = None) -> list[Path]:
    """Remove least recently used series until the cache fits its limit; ``keep`` stays.
    Returns the folders removed."""
    root = root or cache_root()
    limit = limit_bytes() if limit is None else limit
    folders = [s for study in root.iterdir() if study.is_dir() for s in study.iterdir() if s.is_dir()]
    sizes = {f: sum(p.stat().st_size for p in f.iterdir() if p.is_file()) for f in folders}
    total = sum(sizes.values())
    removed = []
    for folder in sorted(folders, key=lambda f: f.stat().st_mtime):
        if total <= limit:
            break
        if folder.resolve() == keep.resolve():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= sizes[folder]
        removed.append(folder)
        if not any(folder.parent.iterdir()):
            folder.parent.rmdir()
    return removed


