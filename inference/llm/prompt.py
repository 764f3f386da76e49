"""A bundle's prompt format: the sequence layout the LLM reads, and how each task is asked.

The default LLM is a base model with no chat template, so the format is ours and each model
bundle declares it in its manifest. A template has three text segments around two image
slots::

    "<bos><start_of_image>{image_3d}{image_2d}<end_of_image>\\n{prompt}"

``{image_3d}`` are the scan's 3D tokens (the same for every question), ``{image_2d}`` the
TG-IS-aggregated slice tokens (one set per question), ``{prompt}`` the task prompt of one
:class:`~inference.question.Question`. A published model whose prompt a template cannot say
(token ids written as ids, text tokenized without special tokens, a first token its own code
drops) declares its :attr:`PromptFormat.segments` instead. :meth:`PromptFormat.scan_segments`
and :meth:`PromptFormat.question_segments` describe the sequence once, for the chat session
(which decodes the scan part once per scan and keeps it in the KV cache) and for training
(which embeds the whole sequence and the answer after it) alike.

Example:
    >>> fmt = PromptFormat(tasks={"open": "Question: {question}\\nAnswer:"})
    >>> [s.kind for s in fmt.scan_segments() + fmt.question_segments("Q")]
    ['text', 'image_3d', 'image_2d', 'text']
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

from ..question import Choice, Question, QuestionError
from ..resources import resource_path

DEFAULT_TEMPLATE = "<bos><start_of_image>{image_3d}{image_2d}<end_of_image>\n{prompt}"
CHOICE_ANSWERS = ("letter_first", "letter_last")
LETTERS = "ABCDEFGH"


SEGMENT_KINDS = ("text", "tokens", "image_3d", "image_2d")
PROMPT_SLOT = "{prompt}"


@dataclass(frozen=True)
class Segment:
    """One piece of the LLM's input sequence.

    Attributes:
        kind: ``"text"`` (tokenized at run time), ``"tokens"`` (token ids as they are, e.g. a
            BOS), or a slot that image tokens fill: ``"image_3d"`` (the scan's) or
            ``"image_2d"`` (the question's TG-IS tokens).
        text: the text of a ``"text"`` segment; ``{prompt}`` stands for the task prompt.
        ids: the ids of a ``"tokens"`` segment.
        special: whether special tokens written in the text (``<bos>``) become their ids.
        drop_first: tokens dropped from the start of the text's tokens (Med3DVLM's splice puts
            its image where its first question token was).
    """

    kind: str
    text: str = ""
    ids: tuple[int, ...] = ()
    special: bool = True
    drop_first: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SEGMENT_KINDS:
            raise ValueError(f"a prompt segment is one of {SEGMENT_KINDS}, not {self.kind!r}")
        object.__setattr__(self, "ids", tuple(int(i) for i in self.ids))

    @property
    def asks(self) -> bool:
        """Whether the segment depends on the question (its 2D tokens or its prompt)."""
        return self.kind == "image_2d" or PROMPT_SLOT in self.text

    def token_ids(self, tokenize: Callable[..., list[int]]) -> list[int] | None:
        """The segment's token ids through ``tokenize(text, parse_special=...)`` (no BOS
        added); None for an image slot."""
        if self.kind == "tokens":
            return list(self.ids)
        if self.kind == "text":
            return tokenize(self.text, parse_special=self.special)[self.drop_first:]
        return None

    def to_dict(self) -> dict:
        """The fields that differ from the defaults (a manifest stays readable)."""
        default = Segment(self.kind)
        return {k: (list(v) if k == "ids" else v) for k, v in asdict(self).items()
                if k == "kind" or v != getattr(default, k)}


@dataclass(frozen=True)
class PromptFormat:
    """A bundle's prompt format (see the module docstring).

    Attributes:
        template: text with the slots ``{image_3d}``, ``{image_2d}`` and ``{prompt}``, in order
            (special tokens written as text); read when ``segments`` is empty.
        segments: the sequence as :class:`Segment` items, for prompts a template cannot say:
            one ``image_3d``, at most one ``image_2d`` after it, one text with ``{prompt}``.
        embedding_scale: factor applied to image tokens before they enter the LLM, or
            ``"sqrt_n_embd"`` (Gemma scales token embeddings by sqrt(hidden) inside the graph,
            not injected vectors).
        tasks: per-task prompt templates, filled with ``question``, ``choices``, ``disease``.
        stop: strings that end an answer.
        stop_ids: token ids that end an answer, besides the LLM's own end-of-generation tokens.
        choice_answer: how a multiple-choice question lists its options and is answered:
            ``"letter_first"`` (M3D-VQA: "A. right upper B. left lower", answer "B. left lower")
            or ``"letter_last"`` ("right upper (A) left lower (B)", answer "left lower (B)"):
            the model writes the option first and then copies the letter that follows those
            words in the question, instead of having to pick the letter before it has written
            what it sees. Either way the answer names one letter
            (:func:`~training.evaluation.metrics.closed_correct` reads both).
    """

    template: str = DEFAULT_TEMPLATE
    segments: tuple[Segment, ...] = ()
    embedding_scale: float | str = "sqrt_n_embd"
    tasks: dict[str, str] = field(default_factory=dict)
    stop: tuple[str, ...] = ("\n\n",)
    stop_ids: tuple[int, ...] = ()
    choice_answer: str = "letter_first"

    def __post_init__(self) -> None:
        if self.choice_answer not in CHOICE_ANSWERS:
            raise ValueError(f"choice_answer is one of {CHOICE_ANSWERS}, not {self.choice_answer!r}")
        if not self.segments:
            slots = [self.template.find(s) for s in ("{image_3d}", "{image_2d}", PROMPT_SLOT)]
            if min(slots) < 0 or slots != sorted(slots):
                raise ValueError("a prompt template needs {image_3d}, {image_2d} and {prompt}, in that order")
        kinds = [s.kind for s in self.layout()]
        asking = [n for n, s in enumerate(self.layout()) if s.asks]
        prompts = [n for n, s in enumerate(self.layout()) if PROMPT_SLOT in s.text]
        if kinds.count("image_3d") != 1 or kinds.count("image_2d") > 1 or len(prompts) != 1 \
                or kinds.index("image_3d") > asking[0]:
            raise ValueError("a prompt layout has one image_3d slot, then at most one image_2d slot "
                             "and one text with {prompt}")

    def layout(self) -> tuple[Segment, ...]:
        """The whole sequence: :attr:`segments`, or the template's (empty text left out)."""
        if self.segments:
            return self.segments
        before, after = self.template.split("{image_3d}")
        between, question = after.split("{image_2d}")
        return tuple(_non_empty([Segment("text", before), Segment("image_3d"), Segment("text", between),
                                 Segment("image_2d"), Segment("text", question)]))

    def scan_segments(self) -> list[Segment]:
        """The part of the sequence that depends on the scan alone (the text before the 3D image
        tokens, the 3D tokens, and any text up to the question's part)."""
        layout = self.layout()
        first_asking = next(n for n, s in enumerate(layout) if s.asks)
        return list(layout[:first_asking])

    def question_segments(self, prompt: str) -> list[Segment]:
        """The part that depends on the question (its 2D image tokens, if any, and the text with
        the task prompt (:meth:`task_prompt`) filled in)."""
        layout = self.layout()
        first_asking = next(n for n, s in enumerate(layout) if s.asks)
        return [replace(s, text=s.text.replace(PROMPT_SLOT, prompt)) if s.kind == "text" else s
                for s in layout[first_asking:]]

    def scale_for(self, n_embd: int) -> float:
        """The numeric factor for image tokens of an LLM of width ``n_embd``."""
        if self.embedding_scale == "sqrt_n_embd":
            return math.sqrt(n_embd)
        return float(self.embedding_scale)

    def task_prompt(self, question: Question) -> str:
        """The prompt of one question, from the template of its task.

        Raises:
            QuestionError: this bundle has no template for the question's task.
        """
        if question.task not in self.tasks:
            raise QuestionError(f"this model was not given a prompt for {question.task!r} questions "
                             f"(it knows {', '.join(sorted(self.tasks))})")
        listed = " ".join(self.choice_answers(question))
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

    def choice_answers(self, question: Question) -> tuple[str, ...]:
        """Every answer to a multiple-choice question that names one of its options, as this
        format has the model write it (one per option, in letter order): the answers the choice
        grammar allows (:func:`~inference.llm.grammar.one_of`).

        Example:
            >>> PromptFormat(choice_answer="letter_last").choice_answers(Question("choice", "Where?", ("left", "right")))
            ('left (A)', 'right (B)')
        """
        return tuple(self._option(LETTERS[n], c) for n, c in enumerate(question.choices))

    def chosen(self, question: Question, answer: str) -> Choice | None:
        """The option ``answer`` names when it is one of :meth:`choice_answers` (spaces around
        it aside); None for any other text (an answer stopped before its end)."""
        answers = self.choice_answers(question)
        if answer.strip() not in answers:
            return None
        n = answers.index(answer.strip())
        return Choice(LETTERS[n], question.choices[n])

    def _option(self, letter: str, text: str) -> str:
        return f"{letter}. {text}" if self.choice_answer == "letter_first" else f"{text} ({letter})"

    def to_dict(self) -> dict:
        """JSON-ready form for a manifest (a template-only format writes no segments)."""
        data = asdict(self)
        data["stop"] = list(self.stop)
        if self.segments:
            data["segments"] = [s.to_dict() for s in self.segments]
            del data["template"]
        else:
            del data["segments"]
        if self.stop_ids:
            data["stop_ids"] = list(self.stop_ids)
        else:
            del data["stop_ids"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "PromptFormat":
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["stop"] = tuple(data.get("stop", ()))
        data["stop_ids"] = tuple(data.get("stop_ids", ()))
        data["segments"] = tuple(Segment(**s) for s in data.get("segments", ()))
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
