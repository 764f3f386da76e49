"""Window/level and volume-rendering presets, read from ``resources/presets/*.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from inference.resources import resource_path


@dataclass(frozen=True)
class WindowPreset:
    """A named CT window; ``key`` is the keyboard shortcut (a digit)."""

    key: str
    name: str
    width: float
    level: float


@lru_cache(maxsize=1)
def window_presets() -> tuple[WindowPreset, ...]:
    """The window/level presets in shortcut order."""
    data = json.loads(resource_path("presets", "window_level.json").read_text())
    return tuple(
        WindowPreset(str(p["key"]), p["name"], float(p["width"]), float(p["level"]))
        for p in data["presets"]
    )


@lru_cache(maxsize=1)
def _vr_data() -> dict[str, Any]:
    return json.loads(resource_path("presets", "volume_rendering.json").read_text())


def vr_presets() -> list[dict[str, Any]]:
    """Volume-rendering transfer functions (dicts with id, name, color, opacity, shading)."""
    return list(_vr_data()["presets"])


def vr_preset(preset_id: str | None = None) -> dict[str, Any]:
    """One volume-rendering preset by id (the default one when None)."""
    wanted = preset_id or _vr_data()["default"]
    for p in vr_presets():
        if p["id"] == wanted:
            return p
    raise KeyError(f"unknown volume-rendering preset {wanted!r}")
