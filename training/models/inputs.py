"""Model input from a real CT for the vision graphs (tests, benchmarks, export checks).

Uses the app's loader and preprocessing (:func:`inference.io.load_volume`,
:mod:`inference.preprocess`) with the recipe named like the vision config (M3D's for configs
without a recipe, e.g. ``tiny``), its grid replaced by the config's input shape.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from training.models.config import VisionConfig


def recipe_for(cfg: VisionConfig) -> Any:
    """The preprocessing recipe for ``cfg`` (a ``PreprocessRecipe`` on the config's grid)."""
    from inference.preprocess import RECIPES

    recipe = RECIPES.get(cfg.name, RECIPES["m3d"])
    return dataclasses.replace(recipe, target_shape_zyx=tuple(cfg.vit3d.input_shape))


def prepare(cfg: VisionConfig, source: str | Path) -> Any:
    """Load and preprocess ``source`` for ``cfg``; the ``ModelInput`` keeps the slice map."""
    from inference.io import load_volume
    from inference.preprocess import preprocess

    return preprocess(load_volume(str(source)), recipe_for(cfg))


def model_input(cfg: VisionConfig, source: str | Path) -> np.ndarray:
    """Float32 array ``(1, 1, D, H, W)`` for ``cfg`` from a DICOM folder or NIfTI file.

    Example:
        >>> from inference.resources import DEMO_CT
        >>> from training.models.config import get_config
        >>> model_input(get_config("tiny"), DEMO_CT).shape  # doctest: +SKIP
        (1, 1, 32, 64, 64)
    """
    arr = prepare(cfg, source).array
    return np.ascontiguousarray(arr, dtype=np.float32).reshape(1, 1, *cfg.vit3d.input_shape)
