"""`Question`: one question about a scan, the same object from the chat panel (or the command
line, or an evaluation case) to the prompt.

A question has a task and what that task needs:

* ``"open"``: free text ("Where is the nodule?");
* ``"choice"``: text and its options, lettered A, B, C ... in order;
* ``"yes_no"``: a disease, asked with CT-RATE's template "Does this image show signs of <disease>?";
* ``"report"``: the findings of the scan (no text needed).

The bundle's prompt format turns a question into the model's prompt
(:meth:`inference.llm.prompt.PromptFormat.task_prompt`); :meth:`Question.tgis_text` is the text
whose token embeddings make the TG-IS text vector.

Example:
    >>> q = Question.yes_no("emphysema")
    >>> q.text
    'Does this image show signs of emphysema?'
    >>> Question("choice", "Which plane?", ("axial", "coronal")).tgis_text()
    'Which plane? axial coronal'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TASKS = ("open", "choice", "yes_no", "report")
YES_NO_TEMPLATE = "Does this image show signs of {disease}?"  # CT-RATE's diagnosis question
FINDINGS_REQUEST = "Write the findings of this CT scan."
MAX_CHOICES = 8  # lettered A..H
# A typed request made only of these words, one of them "findings" or "report", asks for the
# report task ("Write the findings for this CT.", "Describe the findings", "report").
REPORT_WORDS = frozenset({"findings", "finding", "report"})
REQUEST_WORDS = REPORT_WORDS | frozenset({
    "write", "describe", "give", "generate", "produce", "make", "list", "show", "summarise", "summarize",
    "what", "are", "is", "the", "a", "an", "me", "please", "for", "of", "on", "in", "this", "that", "these",
    "ct", "scan", "image", "study", "exam", "radiology", "radiological", "full", "its", "your", "can", "you"})


class QuestionError(ValueError):
    """A question that cannot be asked as given (unknown task, no text, too many choices)."""


@dataclass(frozen=True)
class Question:
    """One question about a scan.

    Attributes:
        task: ``"open"``, ``"choice"``, ``"yes_no"`` or ``"report"``.
        text: what the reader asked (for ``yes_no``: the filled template; for ``report``: empty).
        choices: the options of a ``"choice"`` question, in letter order.
        disease: the disease of a ``"yes_no"`` question.
    """

    task: str = "open"
    text: str = ""
    choices: tuple[str, ...] = ()
    disease: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", self.text.strip())
        object.__setattr__(self, "choices", tuple(c.strip() for c in self.choices if c.strip()))
        if self.task not in TASKS:
            raise QuestionError(f"unknown task {self.task!r}: one of {', '.join(TASKS)}")
        if self.task in ("open", "choice") and not self.text:
            raise QuestionError("type a question first")
        if self.task == "choice" and not 2 <= len(self.choices) <= MAX_CHOICES:
            raise QuestionError(f"a multiple-choice question needs 2 to {MAX_CHOICES} options")
        if self.task == "yes_no" and not self.disease.strip():
            raise QuestionError("a yes/no question needs the disease it asks about")

    @classmethod
    def yes_no(cls, disease: str) -> "Question":
        """CT-RATE's diagnosis question about ``disease``."""
        disease = disease.strip()
        return cls("yes_no", YES_NO_TEMPLATE.format(disease=disease), disease=disease)

    @classmethod
    def findings(cls) -> "Question":
        """The report task: the findings of the scan."""
        return cls("report")

    @property
    def shown(self) -> str:
        """The question as the reader sees it in a transcript or a report."""
        return self.text or FINDINGS_REQUEST

    @classmethod
    def typed(cls, text: str, choices: tuple[str, ...] = ()) -> "Question":
        """What a reader typed: the report task for a request for the findings or a report
        (:func:`asks_for_report`), multiple choice with ``choices``, else an open question."""
        if choices:
            return cls("choice", text, choices)
        return cls.findings() if asks_for_report(text) else cls("open", text)

    def tgis_text(self) -> str:
        """The text whose mean token embedding is the TG-IS text vector: the question itself,
        without prompt scaffolding (its options included); empty for the report task, whose
        vector comes from the bundle's own instruction. Training uses the same method, so the
        model sees the same vectors at run time."""
        if self.task == "choice":
            return " ".join([self.text, *self.choices]).strip()
        return self.text


@dataclass(frozen=True)
class Choice:
    """The option a multiple-choice answer picked: its letter (``"B"``) and its text."""

    letter: str
    text: str

    def to_dict(self) -> dict[str, str]:
        """``{"letter": ..., "text": ...}``, for JSON lines and ``ask --json``."""
        return {"letter": self.letter, "text": self.text}


def asks_for_report(text: str) -> bool:
    """True when ``text`` asks for the findings or a report and nothing more specific.

    >>> asks_for_report("Write the findings for this CT."), asks_for_report("Is there a nodule in the report?")
    (True, False)
    """
    words = set(re.findall(r"[a-z]+", text.lower()))
    return bool(words & REPORT_WORDS) and words <= REQUEST_WORDS
