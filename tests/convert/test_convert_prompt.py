"""The prompt formats a converted bundle declares give the published code's own token ids
(the ids :func:`published_layout.prompt_layout` builds, checked against transformers in the
test_llm_* parity tests)."""

from __future__ import annotations

import pytest

from convert.llm_prompt import LLMFacts
from convert.prompt_format import published_prompt_format
from inference.question import Question
from published_layout import prompt_layout


def facts(layout: str, family: str, has_bos: bool, legacy: bool | None) -> LLMFacts:
    return LLMFacts(layout, family, 500, 64, 1 if has_bos else None, has_bos, 2, (2, 9), (2, 9),
                    None if layout == "med2e3" else 450, 512 if layout == "med2e3" else 256, legacy)


def tokenize(text: str, parse_special: bool = True) -> list[int]:
    """A stand-in tokenizer: one id per word, words keep their leading space."""
    assert not parse_special
    words, word = [], ""
    for ch in text:
        if ch == " " and word:
            words.append(word)
            word = ""
        word += ch
    return [hash(w) % 400 + 10 for w in words + ([word] if word else [])]


def ids_of(fmt, question: str) -> tuple[list[int], int, list[int]]:
    """Token ids before the images, the image vectors, ids after, as the session feeds them."""
    layout = fmt.scan_segments() + fmt.question_segments(fmt.task_prompt(Question("open", question)))
    kinds = [s.kind for s in layout]
    first_image, last_image = kinds.index("image_3d"), max(i for i, k in enumerate(kinds) if k.startswith("image"))
    before = [i for s in layout[:first_image] for i in s.token_ids(tokenize)]
    after = [i for s in layout[last_image + 1:] for i in s.token_ids(tokenize)]
    return before, last_image - first_image + 1, after


@pytest.mark.parametrize("layout,family,has_bos,legacy", [
    ("m3d_lamed", "phi3", True, False), ("m3d_lamed", "llama", True, True),
    ("m3d_lamed", "phi3", False, False), ("med3dvlm", "qwen2", False, None),
    ("med2e3", "phi3", False, False), ("med2e3", "phi3", True, False),
])
def test_segments_give_the_published_layout(layout, family, has_bos, legacy):
    f = facts(layout, family, has_bos, legacy)
    fmt = published_prompt_format(f)
    question = "Where is the lesion located?"
    reference = prompt_layout(f, question, lambda t: tokenize(t, parse_special=False))
    before, n_slots, after = ids_of(fmt, question)
    assert (before, after) == (list(reference.before), list(reference.after))
    assert n_slots == (2 if layout == "med2e3" else 1)  # Med-2E3: 3D then TG-IS 2D tokens
    assert fmt.embedding_scale == 1.0 and fmt.stop_ids == (2, 9) and fmt.stop == ()


def test_closed_questions_are_asked_as_m3d_vqa_writes_them():
    fmt = published_prompt_format(facts("m3d_lamed", "phi3", True, False))
    asked = fmt.task_prompt(Question("choice", "Which organ?", ("lung", "liver", "heart", "bone")))
    assert asked == "Which organ? Choices: A. lung B. liver C. heart D. bone"
    assert set(fmt.tasks) == {"open", "choice", "report"}
