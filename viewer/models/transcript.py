"""The chat transcript: one :class:`Entry` per question, and a transcript per scan and model.

Each scan keeps its own transcript for each model (:class:`TranscriptStore`, keyed by
:func:`inference.io.scan_identity`, a hash of the scan's voxels and geometry, and the model's
name): opening another scan, or switching to another model, puts the current one aside, and
coming back restores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from inference.question import Choice, Question

if TYPE_CHECKING:
    from inference.chat.relevance import SliceRelevance
    from inference.chat.session import Answer

OCCLUSION_TOP = 3  # the stored slices an occlusion line names


def slice_runs(indices: list[int]) -> str:
    """Sorted slice indices (from 0) numbered from 1, consecutive ones as a range: ``"1, 3-4"``."""
    runs: list[str] = []
    start = prev = indices[0]
    for k in [*indices[1:], None]:
        if k is not None and k == prev + 1:
            prev = k
            continue
        runs.append(str(start + 1) if start == prev else f"{start + 1}-{prev + 1}")
        if k is not None:
            start = prev = k
    return ", ".join(runs)


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
    relevance: SliceRelevance | None = None  # occlusion relevance, once computed after the answer

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
    def occlusion(self) -> np.ndarray | None:
        """Occlusion relevance per stored slice (nats), once computed."""
        return None if self.relevance is None else np.asarray(self.relevance.original, dtype=np.float64)

    def occlusion_words(self) -> str:
        """The occlusion line of the transcript and the report, counted from 1 on the stored
        slices (``"occlusion: blanking stored slices 50-64 of 64 lowered this answer's
        log-probability most (up to 1.17 nats)"``); "" until computed.

        The slices named are the three highest, or all that share the highest value when more
        do: a model's slab covers several slices (a 3D model's depth row of tokens, a slice set's
        image and the slices nearest it), and naming three of them would single out slices the
        measurement cannot tell apart."""
        values = self.occlusion
        if values is None or not values.size:
            return ""
        highest = float(values.max())
        if highest <= 0:
            return f"occlusion: blanking none of the {values.size} stored slices made this answer less likely"
        tied = [int(k) for k in np.flatnonzero(values >= highest - 1e-9)]
        top = [int(k) for k in np.argsort(-values, kind="stable")[:OCCLUSION_TOP] if values[k] > 0]
        picked = sorted(tied if len(tied) >= len(top) else top)
        named = f"slice {picked[0] + 1}" if len(picked) == 1 else f"slices {slice_runs(picked)}"
        return (f"occlusion: blanking stored {named} of {values.size} lowered this answer's log-probability "
                f"most (up to {highest:.2f} nats)")

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
    model: str = ""  # the name of the model that answered these questions


class TranscriptStore:
    """Transcripts by scan key and model, for the session (kept while the window lives)."""

    def __init__(self) -> None:
        self._by_scan: dict[tuple[str, str], Transcript] = {}

    def for_scan(self, key: str, model: str = "") -> Transcript:
        """The transcript of the scan ``key`` identifies, as ``model`` answered it (a new, empty
        one the first time): each model keeps its own questions and answers about a scan."""
        transcript = self._by_scan.setdefault((key, model), Transcript())
        transcript.model = model
        return transcript

    def others(self, current: Transcript) -> list[Transcript]:
        """The transcripts that hold questions other than ``current``: other models' of the
        same scan and other scans', in the order first opened."""
        return [t for t in self._by_scan.values() if t is not current and t.entries]
