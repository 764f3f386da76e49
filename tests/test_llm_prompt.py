"""The prompt format: task prompts, and the two orders of a multiple-choice answer."""

from __future__ import annotations

import json

import pytest

from inference.llm.grammar import one_of
from inference.llm.prompt import PromptFormat, default_tasks
from inference.question import Choice, Question, QuestionError


def test_multiple_choice_lists_and_answers_letter_first_as_m3d_vqa():
    fmt = PromptFormat(tasks=default_tasks())
    prompt = fmt.task_prompt(Question("choice", "Where is the nodule?", ("right upper", "left lower")))
    assert "Choices: A. right upper B. left lower\n" in prompt
    assert fmt.answer_text("choice", "B. left lower") == "B. left lower"
    assert fmt.answer_text("open", "left lower lung zone") == "left lower lung zone"


def test_letter_last_lists_each_letter_after_its_option_and_answers_so():
    """The model writes the option it sees, then copies the letter that follows it in the question."""
    fmt = PromptFormat(tasks=default_tasks(), choice_answer="letter_last")
    prompt = fmt.task_prompt(Question("choice", "Where is the nodule?", ("right upper", "left lower")))
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


def test_a_question_is_checked_where_it_is_made():
    """Each task gets what it needs, said in one sentence; the yes/no sentence has one home."""
    q = Question.yes_no(" emphysema ")
    assert (q.task, q.text, q.disease) == ("yes_no", "Does this image show signs of emphysema?", "emphysema")
    assert q.tgis_text() == q.text and Question.findings().tgis_text() == ""
    assert Question("choice", "Which side?", ("left", " ", "right")).choices == ("left", "right")
    for bad, said in [(("open", "  "), "type a question"), (("choice", "Which?", ("one",)), "2 to 8 options"),
                      (("yes_no", ""), "disease"), (("poem", "x"), "unknown task")]:
        with pytest.raises(QuestionError, match=said):
            Question(*bad)


def test_one_sequence_layout_for_the_scan_and_the_question():
    """The scan part (decoded once per scan) and the question part, in order, empty text left out."""
    fmt = PromptFormat(tasks=default_tasks())
    scan, question = fmt.scan_segments(), fmt.question_segments("Question: Q\nAnswer:")
    assert [(s.kind, s.text) for s in scan] == [("text", "<bos><start_of_image>"), ("image_3d", "")]
    assert [(s.kind, s.text) for s in question] == [("image_2d", ""), ("text", "<end_of_image>\nQuestion: Q\nAnswer:")]
    between = PromptFormat(template="A{image_3d}B{image_2d}C{prompt}", tasks={})
    assert [s.text for s in between.scan_segments()] == ["A", "", "B"]
    with pytest.raises(ValueError, match="not given a prompt for 'report' questions"):
        PromptFormat(tasks={"open": "{question}"}).task_prompt(Question.findings())


def test_a_segment_layout_splits_at_the_question_and_round_trips():
    from inference.llm.prompt import PromptFormat, Segment

    fmt = PromptFormat(segments=(Segment("tokens", ids=(7,)), Segment("image_3d"),
                                 Segment("text", " {prompt}", special=False, drop_first=1)),
                       embedding_scale=1.0, tasks={"open": "{question}"}, stop=(), stop_ids=(3,))
    assert [s.kind for s in fmt.scan_segments()] == ["tokens", "image_3d"]
    (asked,) = fmt.question_segments("Where?")
    assert asked.text == " Where?" and not asked.special

    def tokenize(text, parse_special=True):
        return [ord(c) for c in text]

    assert asked.token_ids(tokenize) == [ord(c) for c in "Where?"]  # the first token is dropped
    assert fmt.scan_segments()[0].token_ids(tokenize) == [7]
    data = fmt.to_dict()
    assert "template" not in data and data["stop_ids"] == [3]
    assert PromptFormat.from_dict(json.loads(json.dumps(data))) == fmt


def test_a_layout_without_its_question_or_image_is_refused():
    from inference.llm.prompt import PromptFormat, Segment

    with pytest.raises(ValueError, match="one image_3d slot"):
        PromptFormat(segments=(Segment("text", "{prompt}"), Segment("image_3d")))
    with pytest.raises(ValueError, match="one image_3d slot"):
        PromptFormat(segments=(Segment("image_3d"), Segment("text", "no question")))
    with pytest.raises(ValueError, match="one of"):
        Segment("picture")


def test_a_template_format_writes_no_segments():
    from inference.llm.prompt import PromptFormat

    data = PromptFormat(tasks={"open": "{question}"}).to_dict()
    assert "segments" not in data and "stop_ids" not in data and "template" in data


def test_an_unknown_task_is_a_question_error_naming_what_the_model_knows():
    from inference.llm.prompt import PromptFormat
    from inference.question import Question, QuestionError

    fmt = PromptFormat(tasks={"open": "{question}", "report": "Findings:"})
    with pytest.raises(QuestionError, match="it knows open, report"):
        fmt.task_prompt(Question.yes_no("emphysema"))


@pytest.mark.parametrize("order, answers", [("letter_last", ("left lung (A)", "right middle lung (B)")),
                                            ("letter_first", ("A. left lung", "B. right middle lung"))])
def test_the_choice_answers_are_the_trained_answers_and_name_their_option(order, answers):
    fmt = PromptFormat(tasks=default_tasks(), choice_answer=order)
    question = Question("choice", "Where is the mass?", ("left lung", "right middle lung"))
    assert fmt.choice_answers(question) == answers
    assert fmt.answer_text("choice", "B. right middle lung") == answers[1]  # what training writes
    assert fmt.chosen(question, f" {answers[1]}") == Choice("B", "right middle lung")
    assert fmt.chosen(question, answers[0][:-2]) is None  # stopped before its end: no option


def test_the_choice_grammar_escapes_what_gbnf_would_read_as_syntax():
    assert one_of(["left (A)", 'the "right" \\ side\n(B)']) == (
        'root ::= " "? ("left (A)" | "the \\"right\\" \\\\ side\\n(B)")')
    with pytest.raises(ValueError):
        one_of([])
