"""The chat transcript: one :class:`Entry` per question, and a transcript per scan.

Each scan keeps its own transcript (:class:`TranscriptStore`, keyed by
:func:`inference.io.scan_identity`, a hash of the scan's voxels and geometry): opening another
scan puts the current one aside, and coming back restores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from inference.question import Choice, Question

if TYPE_CHECKING:
    from inference.chat.session import Answer


@dataclass
class Entry:
    """One question of the transcript and its (possibly partial) answer."""

    qid: int
    question: Question
    text: str = ""
    answer: Answer | None = None  # once finished
    error: str = ""
    # what the model was given, in words, when it says (a slice-set model: "4 of 64 stored
    # slices sent as images"); "" for a 3D model, which is given the whole volume
    model_input: str = ""

    @property
    def task(self) -> str:
        """The question's task (``open``, ``choice``, ``yes_no``, ``report``)."""
        return self.question.task

    @property
    def shown(self) -> str:
        """The question as the transcript shows it, a choice question's options after it."""
        options = "  [" + " / ".join(self.question.choices) + "]" if self.question.choices else ""
        return self.question.shown + options

    @property
    def stopped(self) -> bool:
        """True when the reader stopped the answer (what streamed is kept)."""
        return bool(self.answer is not None and self.answer.cancelled)

    @property
    def scores(self) -> np.ndarray | None:
        """TG-IS scores per original slice, when answered."""
        if self.answer is None or self.answer.original_scores is None:
            return None
        return np.asarray(self.answer.original_scores)

    @property
    def notes(self) -> list[str]:
        """What the runtime says beside the answer (empty until answered)."""
        return [] if self.answer is None else list(self.answer.notes)

    @property
    def choice(self) -> Choice | None:
        """The option a multiple-choice answer names (None until answered, and for other tasks)."""
        return None if self.answer is None else self.answer.choice

    def shown_text(self) -> str:
        """The answer as the reader sees it."""
        if self.error:
            return f"(failed: {self.error})"
        text = self.text.strip()
        if self.stopped:
            return (text + " (stopped)").strip()
        return text if self.answer is not None else text + " …"

    def label(self) -> str:
        """One line for the history list (a warning sign when notes sit beside the answer)."""
        mark = " (stopped)" if self.stopped else (" …" if self.answer is None and not self.error else "")
        return f"{self.qid}. {'⚠ ' if self.notes else ''}{self.shown}{mark}"


@dataclass
class Transcript:
    """The questions asked about one scan, and the next question number."""

    entries: list[Entry] = field(default_factory=list)
    next_qid: int = 1
    description: str = ""  # the scan in words (size, spacing, series description): no names, no paths
    region_notice: str = ""  # the runtime's out-of-region sentence for this scan, once encoded
    scan_id: str = ""  # inference.io.scan_identity of the scan (not a patient identifier): the CSVs name it


class TranscriptStore:
    """Transcripts by scan key, for the session (kept while the window lives)."""

    def __init__(self) -> None:
        self._by_scan: dict[str, Transcript] = {}

    def for_scan(self, key: str) -> Transcript:
        """The transcript of the scan ``key`` identifies (a new, empty one the first time)."""
        return self._by_scan.setdefault(key, Transcript())

    def others(self, current: Transcript) -> list[Transcript]:
        """The other scans' transcripts that hold questions, in the order first opened."""
        return [t for t in self._by_scan.values() if t is not current and t.entries]
