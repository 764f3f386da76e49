"""Our prompt format: where image tokens go and how each task is asked.

The default LLM is a base model with no chat template, so the format is ours and each model
bundle declares it in its manifest. A template has three text segments around two image
slots::

    "<bos><start_of_image>{image_3d}{image_2d}<end_of_image>\\n{prompt}"

``{image_3d}`` are the scan's 3D tokens (the same for every question), ``{image_2d}`` the
TG-IS-aggregated slice tokens (one set per question). Everything up to and including the 3D
tokens is the scan prefix, decoded once per scan and kept in the KV cache.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from ..resources import resource_path

DEFAULT_TEMPLATE = "<bos><start_of_image>{image_3d}{image_2d}<end_of_image>\n{prompt}"
TASKS = ("report", "open", "choice", "yes_no")
CHOICE_ANSWERS = ("letter_first", "letter_last")
LETTERS = "ABCDEFGH"


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
            (:func:`~inference.training.metrics.closed_correct` reads both).
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

    def scan_prefix(self) -> str:
        """Text before the 3D image tokens."""
        return self.template.split("{image_3d}")[0]

    def between_images(self) -> str:
        """Text between the 3D and the 2D image tokens (often empty)."""
        return self.template.split("{image_3d}")[1].split("{image_2d}")[0]

    def question_text(self, prompt: str) -> str:
        """Text after the 2D image tokens, with the task prompt filled in."""
        return self.template.split("{image_2d}")[1].replace("{prompt}", prompt)

    def scale_for(self, n_embd: int) -> float:
        """The numeric factor for image tokens of an LLM of width ``n_embd``."""
        if self.embedding_scale == "sqrt_n_embd":
            return math.sqrt(n_embd)
        return float(self.embedding_scale)

    def task_prompt(self, task: str, question: str = "", choices: list[str] | None = None, disease: str = "") -> str:
        """The prompt of one task: ``report``, ``open``, ``choice`` or ``yes_no``."""
        if task not in self.tasks:
            raise ValueError(f"unknown task {task!r}; this bundle knows {sorted(self.tasks)}")
        listed = " ".join(self._option(LETTERS[n], c) for n, c in enumerate(choices or []))
        return self.tasks[task].format(question=question.strip(), choices=listed, disease=disease)

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


def default_tasks() -> dict[str, str]:
    """The task templates shipped in ``resources/prompts/tasks.json``."""
    with open(resource_path("prompts", "tasks.json")) as fh:
        return json.load(fh)["templates"]


def ct_rate_diseases() -> list[str]:
    """CT-RATE's 18 abnormality labels, for the yes/no diagnosis questions."""
    with open(resource_path("prompts", "tasks.json")) as fh:
        return json.load(fh)["ct_rate_diseases"]
