"""Occlusion relevance after each answer, without Qt: whether it is asked for, which answers
wait for it, and what came back.

After an answer the chat asks the model's worker for the answer's occlusion relevance
(:func:`inference.chat.relevance.occlusion_relevance`: the answer's log-probability measured
again with each slice's image tokens zeroed; seconds on the default bundle, minutes on a
large one). It runs on the worker thread after the answer, so a question asked meanwhile waits
for it; it cannot be stopped once started, so each request carries a switch that keeps it from
starting: a new question, another scan, or the reader turning it off sets it.

A bundle whose image tokens cover no slices (Med3DVLM) has no occlusion relevance: the first
answer learns the sentence saying why (:attr:`RelevanceRequests.unavailable`); no later
answer asks again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .events import Event

if TYPE_CHECKING:
    from inference.chat.relevance import SliceRelevance
    from inference.chat.session import Answer

    from .transcript import Entry


@dataclass
class RelevanceRequest:
    """The answer whose relevance the worker computes, and the switch that keeps it from starting."""

    answer: Answer
    cancel: threading.Event = field(default_factory=threading.Event)


class RelevanceRequests:
    """The relevance requests of a chat (see the module docstring).

    Attributes:
        enabled: compute the relevance after each answer (View menu; on by default).
        unavailable: the sentence saying why this bundle has no occlusion relevance ("" while
            none is known).

    Events:
        requested(request_id, request): for the worker.
        said(text): a status line (the chat shows it while it takes questions).
        finished(entry): the entry's relevance is in (``entry.relevance``), or did not come
            (failed, not started, not defined for the bundle).
        availability_changed(): :attr:`enabled` or :attr:`unavailable` changed.
    """

    def __init__(self) -> None:
        self.enabled = True
        self.unavailable = ""
        self._waiting: dict[int, tuple[Entry, RelevanceRequest]] = {}
        self.requested = Event()
        self.said = Event()
        self.finished = Event()
        self.availability_changed = Event()

    @property
    def shown(self) -> bool:
        """True when the relevance is computed and can be drawn (on, and defined for the bundle)."""
        return self.enabled and not self.unavailable

    def set_enabled(self, on: bool) -> None:
        """Turn the relevance after each answer on or off (off: a request not started is dropped)."""
        self.enabled = on
        if not on:
            self.cancel_waiting()
        self.availability_changed.emit()

    def request(self, request_id: int, entry: Entry) -> bool:
        """Ask for the relevance of ``entry``'s finished answer; False when it is not asked for
        (turned off, not defined for the bundle, a stopped or empty answer)."""
        answer = entry.answer
        if not self.shown or answer is None or answer.cancelled or not answer.token_ids:
            return False
        request = RelevanceRequest(answer)
        self._waiting[request_id] = (entry, request)
        self.requested.emit(request_id, request)
        return True

    def waiting_words(self, entry: Entry) -> str:
        """The status line while ``entry``'s relevance is computed ("" when it is not waited for)."""
        if not self.is_waiting(entry):
            return ""
        return (f"Computing occlusion relevance for Q{entry.qid}… (a question asked now waits for it; "
                "View → Occlusion relevance after each answer turns it off)")

    def is_waiting(self, entry: Entry) -> bool:
        """True while ``entry``'s relevance is asked for and has not come back."""
        return any(e is entry for e, _ in self._waiting.values())

    def cancel_waiting(self) -> None:
        """Keep every request the worker has not started from starting (a new question, another
        scan); one already running finishes."""
        for _, request in self._waiting.values():
            request.cancel.set()

    # ------------------------------------------------------------ from the worker
    def done(self, request_id: int, relevance: SliceRelevance) -> None:
        """Request ``request_id``'s relevance is computed."""
        entry = self._take(request_id)
        if entry is not None:
            entry.relevance = relevance
            self.said.emit(f"Ready: occlusion relevance of Q{entry.qid} computed in {relevance.seconds:.1f} s. "
                           "Ask another question.")
            self.finished.emit(entry)

    def failed(self, request_id: int, message: str) -> None:
        """Request ``request_id``'s relevance could not be computed."""
        entry = self._take(request_id)
        if entry is not None:
            self.said.emit(f"The occlusion relevance of Q{entry.qid} could not be computed: {message}")
            self.finished.emit(entry)

    def skipped(self, request_id: int) -> None:
        """Request ``request_id`` was not started (its switch was set)."""
        entry = self._take(request_id)
        if entry is not None:
            self.finished.emit(entry)

    def undefined(self, request_id: int, message: str) -> None:
        """The bundle has no occlusion relevance (``message``: why, one sentence): said once,
        never asked again."""
        entry = self._take(request_id)
        self.unavailable = message
        self.cancel_waiting()
        self.availability_changed.emit()
        self.said.emit("Ready. Ask another question.")
        if entry is not None:
            self.finished.emit(entry)

    def reset_availability(self) -> None:
        """Another model was loaded: whether it has occlusion relevance is not known yet."""
        if self.unavailable:
            self.unavailable = ""
            self.availability_changed.emit()

    def _take(self, request_id: int) -> Entry | None:
        entry, _ = self._waiting.pop(request_id, (None, None))
        return entry
