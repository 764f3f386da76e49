"""The chat transcript: one :class:`Entry` per question, a transcript per scan, and its HTML.

Each scan keeps its own transcript (:class:`TranscriptStore`, keyed by :func:`scan_key`, a hash
of the scan's voxels and geometry): opening another scan puts the current one aside, and
coming back restores it. The transcript view shows every question and answer of the scan, each
answer with the notes the runtime put beside it (outside the trained scope, uncertain, outside
the trained region) and a Copy link; the answer itself is shown as the model wrote it.
"""

from __future__ import annotations

import hashlib
import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.chat.scope import answers_yes_or_no
from inference.question import Question

COPY_SCHEME = "copy"  # the transcript's per-answer links: copy:<qid>
HASHED_SLICES = 16  # the scan key reads this many slices, spread over the scan (fast, still unique)


@dataclass
class Entry:
    """One question of the transcript and its (possibly partial) answer."""

    qid: int
    question: Question
    text: str = ""
    answer: Any = None  # inference.chat.session.Answer once finished
    error: str = ""

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
        return list(getattr(self.answer, "notes", []) or [])

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


class TranscriptStore:
    """Transcripts by scan key, for the session (kept while the window lives)."""

    def __init__(self) -> None:
        self._by_scan: dict[str, Transcript] = {}

    def for_scan(self, key: str) -> Transcript:
        """The scan's transcript (a new, empty one the first time)."""
        return self._by_scan.setdefault(key, Transcript())

    def others(self, current: Transcript) -> list[Transcript]:
        """The other scans' transcripts that hold questions, in the order first opened."""
        return [t for t in self._by_scan.values() if t is not current and t.entries]


def scan_key(volume: Any) -> str:
    """A scan's identity: a hash of its shape, affine and voxels (16 slices spread over it), so
    the same series opened from another path or as NIfTI finds its transcript again."""
    voxels = np.asarray(volume.voxels)
    picked = np.ascontiguousarray(voxels[:: max(1, voxels.shape[0] // HASHED_SLICES)])
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(voxels.shape).encode())
    digest.update(np.asarray(volume.affine, dtype=np.float64).round(4).tobytes())
    digest.update(memoryview(picked).cast("B"))
    return digest.hexdigest()


def entry_html(entry: Entry, selected: bool) -> str:
    """One question and answer, with the answer's notes beside it and its Copy link."""
    e = html.escape
    style = "background:#2a3440;" if selected else ""
    out = [f"<div style='{style}padding:4px'><a name='q{entry.qid}'></a><p><b>Q{entry.qid}:</b> {e(entry.shown)}</p>",
           f"<p><b>A:</b> {e(entry.shown_text())}"]
    if entry.answer is not None or entry.error:
        out.append(f" &nbsp;<a href='{COPY_SCHEME}:{entry.qid}'>Copy</a>")
    out.append("</p>")
    for note in entry.notes:
        out.append(f"<p style='color:#ffb347'>⚠ {e(note)}</p>")
    if entry.answer is not None:
        a = entry.answer
        where = f"{a.top_range()} scored highest" if a.top_slices else a.top_range()[:1].upper() + a.top_range()[1:]
        p_yes = getattr(a, "yes_probability", float("nan"))
        odds = f" · P(yes) {p_yes:.2f}" if answers_yes_or_no(entry.question, a.text) and not math.isnan(p_yes) else ""
        out.append(f"<p><i>{e(where)}</i>{odds} · {a.n_tokens} tokens, {a.timings.get('total', 0.0):.1f} s</p>")
    out.append("</div>")
    return "".join(out)


def transcript_html(entries: list[Entry], selected: Entry | None, region_notice: str = "") -> str:
    """The whole transcript of a scan (the scan's out-of-region notice first)."""
    head = f"<p style='color:#ff8080'><b>⚠ {html.escape(region_notice)}</b></p>" if region_notice else ""
    return head + "".join(entry_html(x, x is selected) for x in entries)
