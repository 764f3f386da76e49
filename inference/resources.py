"""Where the app's bundled resources live (presets, prompts, the demo CT, model bundles)."""

from __future__ import annotations

import os
from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"
DEMO_CT = RESOURCES_DIR / "demo" / "chest_lungdx_A0001_5mm.nii.gz"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("presets", "window_level.json")``."""
    return RESOURCES_DIR.joinpath(*parts)


def data_dir() -> Path:
    """The app's writable data folder (assembled LLM files, recent files, caches).

    ``CTCHAT_DATA_DIR`` overrides the default ``~/.local/share/ctchat``.
    """
    root = os.environ.get("CTCHAT_DATA_DIR") or Path.home() / ".local" / "share" / "ctchat"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_ct_dir() -> Path:
    """The real CT test data beside the checkout (``CTCHAT_CT_DATA`` overrides)."""
    env = os.environ.get("CTCHAT_CT_DATA")
    return Path(env) if env else RESOURCES_DIR.parent.parent / "shared" / "data" / "ct"
