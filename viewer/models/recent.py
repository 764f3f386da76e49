"""The recent-files list, stored as JSON in the app's data folder."""

from __future__ import annotations

import json
from pathlib import Path

MAX_RECENT = 10
FILE_NAME = "recent_files.json"


def _store() -> Path:
    from inference.resources import data_dir

    return data_dir() / FILE_NAME


def recent_files() -> list[str]:
    """Recently opened paths, newest first (missing or unreadable store: empty list)."""
    try:
        items = json.loads(_store().read_text())
    except (OSError, ValueError):
        return []
    return [str(p) for p in items if isinstance(p, str)][:MAX_RECENT]


def add_recent(path: str | Path) -> list[str]:
    """Put ``path`` first in the list, save it and return the new list."""
    path = str(Path(path).resolve())
    items = [path] + [p for p in recent_files() if p != path]
    items = items[:MAX_RECENT]
    try:
        _store().write_text(json.dumps(items, indent=1))
    except OSError:
        pass  # a read-only home must not stop the viewer
    return items
