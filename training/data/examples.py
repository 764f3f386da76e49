"""Training examples from synthetic cases: model input, TG-IS text vector, prompt, answer, the
model slices that hold the lesion and the image tokens whose region holds it."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from inference.llm.text_vector import TextVectorizer
from inference.preprocess import ModelInput, preprocess
from training.data.cases import Case
from training.data.synthetic import LESION_KINDS, Lesion
from training.models.inputs import recipe_for
from training.models.multimodal import Example, MultimodalModel, model_slice_target


def training_examples(model: MultimodalModel, cases: Iterable[Case], vectorizer: TextVectorizer) -> list[Example]:
    """One :class:`Example` per question of every case, prepared as the app's runtime does."""
    recipe, fmt = recipe_for(model.vision.cfg), model.prompt
    examples = []
    for case in cases:
        prepared = preprocess(case.volume, recipe)
        target = None
        if case.lesion is not None:
            target = model_slice_target(prepared.slice_map.model_to_original, *case.lesion.slices)
        tokens = None
        grid = model.vision.cfg.lesion_grid
        if grid and case.lesion_known:
            tokens = lesion_token_target(prepared, case.volume.spacing_zyx, case.lesion, grid)
        for qa in case.qas:
            prompt = fmt.task_prompt(qa.question)
            vector = vectorizer.vector_from_ids(model.vocab.tokenize(qa.question.tgis_text() or prompt))
            examples.append(Example(prepared.array, vector, prompt, fmt.answer_text(qa.task, qa.answer),
                                    target if qa.kind in LESION_KINDS else None, qa.kind, tokens))
    return examples


def lesion_token_target(prepared: ModelInput, spacing_zyx: tuple[float, float, float], lesion: Lesion | None,
                        grid: tuple[int, int, int]) -> np.ndarray:
    """``(prod(grid),)``: 1 on the 3D image tokens whose part of the model input holds some of
    ``lesion`` (all 0 without one), in the order of ``grid``'s tokens (row-major ``d, h, w``).

    The lesion's sphere is drawn on the model's samples (``prepared.sample_index_zyx``), so any
    crop, resize or resampling of the recipe is followed.

    Example:
        >>> target = lesion_token_target(prepared, volume.spacing_zyx, lesion, (4, 4, 4))  # doctest: +SKIP
        >>> target.reshape(4, 4, 4).nonzero()                                            # doctest: +SKIP
    """
    shape = prepared.array.shape[2:]
    if lesion is None:
        return np.zeros(int(np.prod(grid)), np.float32)
    # squared distance (mm) of each model sample to the lesion's centre, axis by axis
    axes = [((idx - c) * s) ** 2 for idx, c, s in zip(prepared.sample_index_zyx, lesion.center_kji, spacing_zyx)]
    inside = np.nan_to_num(axes[0][:, None, None] + axes[1][None, :, None] + axes[2][None, None, :],
                           nan=np.inf) <= (lesion.diameter_mm / 2) ** 2
    if not inside.any():  # smaller than one sample: the nearest one
        nearest = [int(np.nanargmin(a)) for a in axes]
        inside[tuple(nearest)] = True
    cells = inside.reshape(grid[0], shape[0] // grid[0], grid[1], shape[1] // grid[1], grid[2], shape[2] // grid[2])
    return cells.any(axis=(1, 3, 5)).reshape(-1).astype(np.float32)


def oversampled(examples: list[Example], kinds: tuple[str, ...], times: int) -> list[Example]:
    """``examples`` with those of ``kinds`` appearing ``times`` times in all (an epoch then
    visits them ``times`` times, in the trainer's shuffled order)."""
    return examples + [e for e in examples if e.kind in kinds] * (times - 1)
