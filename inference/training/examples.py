"""Training examples from synthetic cases: model input, TG-IS text vector, prompt, answer and
the model slices that hold the lesion."""

from __future__ import annotations

from typing import Iterable

from ..chat.session import tgis_text
from ..preprocess import preprocess
from ..vision.inputs import recipe_for
from ..vision.text_vector import TextVectorizer
from .evaluate import LESION_KINDS, PRESENCE_KINDS, Case, disease_of
from .multimodal import Example, MultimodalModel, model_slice_target


def training_examples(model: MultimodalModel, cases: Iterable[Case], vectorizer: TextVectorizer) -> list[Example]:
    """One :class:`Example` per question of every case, prepared as the app's runtime does."""
    recipe, fmt = recipe_for(model.vision.cfg), model.prompt
    examples = []
    for case in cases:
        prepared = preprocess(case.volume, recipe)
        target = None
        if case.lesion is not None:
            target = model_slice_target(prepared.slice_map.model_to_original, *case.lesion.slices)
        for qa in case.qas:
            disease = disease_of(qa.question) if qa.task == "yes_no" else ""
            prompt = fmt.task_prompt(qa.task, qa.question, list(qa.choices) or None, disease)
            text = tgis_text(qa.task, qa.question, disease, list(qa.choices)) or prompt
            vector = vectorizer.vector_from_ids(model.vocab.tokenize(text))
            examples.append(Example(prepared.array, vector, prompt, qa.answer,
                                    target if qa.kind in LESION_KINDS else None, qa.kind))
    return examples


def oversampled(examples: list[Example], kinds: tuple[str, ...], times: int) -> list[Example]:
    """``examples`` with those of ``kinds`` appearing ``times`` times in all (an epoch then
    visits them ``times`` times, in the trainer's shuffled order)."""
    return examples + [e for e in examples if e.kind in kinds] * (times - 1)
