"""A bundle's prompt format: the sequence layout the LLM reads, and how each task is asked.

The default LLM is a base model with no chat template, so the format is ours and each model
bundle declares it in its manifest. A template has three text segments around two image
slots::

    "<bos><start_of_image>{image_3d}{image_2d}<end_of_image>\\n{prompt}"

``{image_3d}`` are the scan's 3D tokens (the same for every question), ``{image_2d}`` the
TG-IS-aggregated slice tokens (one set per question), ``{prompt}`` the task prompt of one
:class:`~inference.question.Question`. :meth:`PromptFormat.scan_segments` and
:meth:`PromptFormat.question_segments` describe the sequence once, for the chat session (which
decodes the scan part once per scan and keeps it in the KV cache) and for training (which
embeds the whole sequence and the answer after it) alike.

Example:
    >>> fmt = PromptFormat(tasks={"open": "Question: {question}\\nAnswer:"})
    >>> [s.kind for s in fmt.scan_segments() + fmt.question_segments("Q")]
    ['text', 'image_3d', 'image_2d', 'text']
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from ..question import Question
from ..resources import resource_path

DEFAULT_TEMPLATE = "<bos><start_of_image>{image_3d}{image_2d}<end_of_image>\n{prompt}"
CHOICE_ANSWERS = ("letter_first", "letter_last")
LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class Segment:
    """One piece of the LLM's input sequence: ``"text"`` (tokenized, special tokens parsed) or a
    slot that image tokens fill, ``"image_3d"`` (the scan's) or ``"image_2d"`` (the question's)."""

    kind: str
    text: str = ""


@dataclass(frozen=True)
class PromptFormat:
    """A bundle's prompt format (see the module docstring).

    Attributes:
        template: text with the slots ``{image_3d}``, ``{image_2d}`` and ``{prompt}``, in order.
        embedding_scale: factor applied to image tokens before they enter the LLM, or
            ``"sqrt_n_embd"`` (Gemma scales token embeddings by sqrt(hidden) inside the graph,
            not injected vectors).
        tasks: per-task prompt templates, filled with ``question``, ``choices``, ``disease``.
        stop: strings that end an answer.
        choice_answer: how a multiple-choice question lists its options and is answered:
            ``"letter_first"`` (M3D-VQA: "A. right upper B. left lower", answer "B. left lower")
            or ``"letter_last"`` ("right upper (A) left lower (B)", answer "left lower (B)"):
            the model writes the option first and then copies the letter that follows those
            words in the question, instead of having to pick the letter before it has written
            what it sees. Either way the answer names one letter
            (:func:`~training.evaluation.metrics.closed_correct` reads both).
    """

    template: str = DEFAULT_TEMPLATE
    embedding_scale: float | str = "sqrt_n_embd"
    tasks: dict[str, str] = field(default_factory=dict)
    stop: tuple[str, ...] = ("\n\n",)
    choice_answer: str = "letter_first"

    def __post_init__(self) -> None:
        if self.choice_answer not in CHOICE_ANSWERS:
            raise ValueError(f"choice_answer is one of {CHOICE_ANSWERS}, not {self.choice_answer!r}")
        slots = [self.template.find(s) for s in ("{image_3d}", "{image_2d}", "{prompt}")]
        if min(slots) < 0 or slots != sorted(slots):
            raise ValueError("a prompt template needs {image_3d}, {image_2d} and {prompt}, in that order")

    def scan_segments(self) -> list[Segment]:
        """The part of the sequence that depends on the scan alone: the text before the 3D image
        tokens, the 3D tokens, and any text between them and the 2D tokens (empty text left out)."""
        before, after = self.template.split("{image_3d}")
        between = after.split("{image_2d}")[0]
        return _non_empty([Segment("text", before), Segment("image_3d"), Segment("text", between)])

    def question_segments(self, prompt: str) -> list[Segment]:
        """The part that depends on the question: the 2D image tokens, then the text after them
        with the task prompt (:meth:`task_prompt`) filled in."""
        question_text = self.template.split("{image_2d}")[1].replace("{prompt}", prompt)
        return _non_empty([Segment("image_2d"), Segment("text", question_text)])

    def scale_for(self, n_embd: int) -> float:
        """The numeric factor for image tokens of an LLM of width ``n_embd``."""
        if self.embedding_scale == "sqrt_n_embd":
            return math.sqrt(n_embd)
        return float(self.embedding_scale)

    def task_prompt(self, question: Question) -> str:
        """The prompt of one question, from the template of its task.

        Raises:
            ValueError: this bundle has no template for the question's task.
        """
        if question.task not in self.tasks:
            raise ValueError(f"this model was not given a prompt for {question.task!r} questions "
                             f"(it knows {', '.join(sorted(self.tasks))})")
        listed = " ".join(self._option(LETTERS[n], c) for n, c in enumerate(question.choices))
        return self.tasks[question.task].format(question=question.text, choices=listed, disease=question.disease)

    def answer_text(self, task: str, answer: str) -> str:
        """A ground-truth answer as this format has the model write it: a multiple-choice
        answer, given as M3D-VQA writes it ("B. left lower"), in :attr:`choice_answer`'s
        order; other answers as they are.

        Example:
            >>> PromptFormat(choice_answer="letter_last").answer_text("choice", "B. left lower")
            'left lower (B)'
        """
        if task != "choice":
            return answer
        letter, _, text = answer.partition(". ")
        if len(letter) != 1 or letter not in LETTERS:
            raise ValueError(f"a multiple-choice answer is written 'X. option', not {answer!r}")
        return self._option(letter, text)

    def _option(self, letter: str, text: str) -> str:
        return f"{letter}. {text}" if self.choice_answer == "letter_first" else f"{text} ({letter})"

    def to_dict(self) -> dict:
        """JSON-ready form for a manifest."""
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "PromptFormat":
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["stop"] = tuple(data.get("stop", ()))
        return cls(**data)


def _non_empty(segments: list[Segment]) -> list[Segment]:
    return [s for s in segments if s.kind != "text" or s.text]


def default_tasks() -> dict[str, str]:
    """The task templates shipped in ``resources/prompts/tasks.json``."""
    with open(resource_path("prompts", "tasks.json")) as fh:
        return json.load(fh)["templates"]


def ct_rate_diseases() -> list[str]:
    """CT-RATE's 18 abnormality labels, for the yes/no diagnosis questions."""
    with open(resource_path("prompts", "tasks.json")) as fh:
        return json.load(fh)["ct_rate_diseases"]
