"""Where the app's bundled resources live (presets, prompts, the demo CT, model bundles).

They are the package ``ctchat_resources`` (the checkout's ``resources/`` folder, mapped by
setup.py), found through :mod:`importlib.resources`, so an editable checkout, a wheel and a
frozen app all read them the same way. Writable data stays per user (:func:`data_dir`).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

RESOURCES_DIR = Path(str(files("ctchat_resources")))
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
    """The real CT test data beside the checkout, ``../shared/data/ct`` (``CTCHAT_CT_DATA``
    overrides); only a checkout has it."""
    env = os.environ.get("CTCHAT_CT_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "ct"
