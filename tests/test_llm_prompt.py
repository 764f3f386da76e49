"""The prompt format: task prompts, and the two orders of a multiple-choice answer."""

from __future__ import annotations

import pytest

from inference.llm.prompt import PromptFormat, default_tasks


def test_multiple_choice_lists_and_answers_letter_first_as_m3d_vqa():
    fmt = PromptFormat(tasks=default_tasks())
    prompt = fmt.task_prompt("choice", "Where is the nodule?", ["right upper", "left lower"])
    assert "Choices: A. right upper B. left lower\n" in prompt
    assert fmt.answer_text("choice", "B. left lower") == "B. left lower"
    assert fmt.answer_text("open", "left lower lung zone") == "left lower lung zone"


def test_letter_last_lists_each_letter_after_its_option_and_answers_so():
    """The model writes the option it sees, then copies the letter that follows it in the question."""
    fmt = PromptFormat(tasks=default_tasks(), choice_answer="letter_last")
    prompt = fmt.task_prompt("choice", "Where is the nodule?", ["right upper", "left lower"])
    assert "Choices: right upper (A) left lower (B)\n" in prompt
    assert fmt.answer_text("choice", "B. left lower") == "left lower (B)"
    assert fmt.answer_text("yes_no", "yes") == "yes"
    with pytest.raises(ValueError, match="'X. option'"):
        fmt.answer_text("choice", "left lower")
    with pytest.raises(ValueError, match="choice_answer"):
        PromptFormat(choice_answer="letter_middle")


def test_a_manifest_without_the_choice_order_reads_as_letter_first():
    """Bundles written before the option existed were trained letter first."""
    old = PromptFormat(tasks=default_tasks()).to_dict()
    del old["choice_answer"]
    assert PromptFormat.from_dict(old).choice_answer == "letter_first"
    both = PromptFormat(tasks=default_tasks(), choice_answer="letter_last")
    assert PromptFormat.from_dict(both.to_dict()) == both
