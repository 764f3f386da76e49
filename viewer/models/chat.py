"""The chat with the model, without Qt: its state, the status line, the model's facts, the
transcript of the scan in view (each model keeps its own: switching the model shows the new
model's questions about the scan) and the question selected in it, and the requests that go to
the model's worker, and the occlusion relevance asked for after each answer
(:class:`~viewer.models.relevance.RelevanceRequests`).

The chat panel observes this model and renders it; its buttons call :meth:`ChatModel.ask`,
:meth:`ChatModel.stop`, :meth:`ChatModel.encode_again` and :meth:`ChatModel.select`. The
scroller's marks observe :attr:`ChatModel.sent` (the slices a slice-set model was given). The
worker thread takes the requests
(:attr:`ChatModel.encode_requested`, :attr:`ChatModel.ask_requested`) and hands its results
back to the methods under "from the worker", on the UI thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypedDict

from inference.question import Question

from .encoding_words import encoding_progress_words, encoding_started_words
from .events import Event
from .relevance import RelevanceRequests
from .scan_facts import scan_summary
from .sent_slices import SentSlices
from .transcript import Entry, Transcript, TranscriptStore

if TYPE_CHECKING:
    from inference.bundle import TrainedScope
    from inference.chat.scope import RegionCheck
    from inference.chat.session import Answer
    from inference.io import Volume


class ChatState(StrEnum):
    """Where the chat is (a ``str``: ``state == "ready"`` reads as it always did)."""

    STARTING = "starting"  # the model loads
    FAILED = "failed"  # the model could not be loaded: the viewer works without chat
    IDLE = "idle"  # the model is ready, no scan is open
    ENCODING = "encoding"  # the scan in view is encoded for the model
    ENCODE_STOPPED = "encode_stopped"  # the reader stopped the encoding: no questions until encoded
    SCAN_FAILED = "scan_failed"  # the model could not read the scan in view
    READY = "ready"  # questions are taken
    ANSWERING = "answering"  # an answer streams


class ModelInfo(TypedDict):
    """What the worker says about the model once it has started."""

    name: str
    kind: str  # the bundle's kind: inference.bundle.VOLUME_3D or SLICE_SET
    trained: bool
    summary: dict[str, Any]  # the bundle's summary (tasks, notice, intended use, licence, LLM, ...)
    hu_window: tuple[float, float]
    grid: tuple[int, ...]
    recipe: str
    input_words: str  # what the model is given, in one line (the panel and the report say it)
    recipe_words: dict[str, str]  # a slice-set bundle's recipe in words (About); empty for 3D
    slice_budget: int  # the slices a slice-set model is given at most (0: a 3D model)
    providers: list[str]  # the vision encoder's execution providers, as they really run
    threads: int
    slice_attention: bool  # the model has TG-IS (a heat strip to draw)
    scope: TrainedScope


class EncodedScan(TypedDict):
    """What the worker says about a scan it has encoded."""

    timings: dict[str, float]  # seconds per step
    region: RegionCheck  # is the scan inside the body region the model was trained on
    sent_slices: list[int] | None  # the stored slices a slice-set model was given (None: a 3D model)


@dataclass
class Request:
    """One question for the model, how long its answer may be, and its stop switch."""

    question: Question
    max_tokens: int = 128
    cancel: threading.Event = field(default_factory=threading.Event)


class ChatModel:
    """The chat's state and transcripts, and the logic of asking (see the module docstring).

    Events:
        status_changed(): the status line (:attr:`status`, :attr:`status_is_error`) changed.
        state_changed(state): after every state set, even to the same state.
        model_loaded(info): the model started (:attr:`model_info`).
        transcript_switched(): another scan's transcript is shown (a selection follows).
        selection_changed(entry): the selected question, or its answer, changed (None: none).
        region_changed(): the scan's out-of-region notice is known.
        entry_added(entry), piece_added(entry), entry_changed(entry): a question was asked, a
            piece of its answer streamed, its answer finished (the entry is in view).
        answer_finished(entry): an answer finished, whichever scan it belongs to.
        encode_requested(generation, volume, cancel), ask_requested(request_id, request): for
            the worker (``cancel``: a :class:`threading.Event` that stops a slice-set encoding).
    """

    def __init__(self, max_tokens: int = 128) -> None:
        self.max_tokens = max_tokens
        self.state = ChatState.STARTING
        self.status = "Starting the model…"
        self.status_is_error = False
        self.status_changed = Event()
        self.state_changed = Event()
        self.model_info: ModelInfo | None = None
        self.model_loaded = Event()
        self.volume: Volume | None = None
        self.store = TranscriptStore()
        self.transcript = Transcript()
        self.transcript_switched = Event()
        self.region_changed = Event()
        self.selected_row = -1
        self.selection_changed = Event()
        self.entry_added = Event()
        self.piece_added = Event()
        self.entry_changed = Event()
        self.answer_finished = Event()
        self._generation = 0  # the scan in view; results for an earlier one are dropped
        self._next_request = 1  # worker request ids, unique over all scans' transcripts
        self._pending: dict[int, tuple[Entry, int]] = {}  # request id: its entry, and the scan it is about
        self._running: tuple[Entry, Request] | None = None
        self._encode_cancel = threading.Event()  # the running encoding's stop switch
        self._encode_estimate: float | None = None  # seconds, for the status while encoding
        self._scan_key = ""  # inference.io.scan_identity of the scan in view
        self._before_change: ChatState | None = None  # the state before a model switch or a comparison
        self.sent = SentSlices()  # the slices a slice-set model was given for the scan in view
        self.relevance = RelevanceRequests()  # after each answer, on the worker thread
        self.relevance.said.connect(self._say_if_ready)
        self.encode_requested = Event()
        self.ask_requested = Event()

    # ------------------------------------------------------------ reading
    @property
    def entries(self) -> list[Entry]:
        """The questions asked about the scan in view."""
        return self.transcript.entries

    @property
    def encoding_can_stop(self) -> bool:
        """True when the model reads a scan slice by slice (a slice-set model), so that Stop
        can end its encoding between slices; a 3D model's encoding is one call."""
        return self.model_info is not None and self.model_info["slice_budget"] > 0

    @property
    def selected(self) -> Entry | None:
        """The question selected in the transcript."""
        row = self.selected_row
        return self.entries[row] if 0 <= row < len(self.entries) else None

    # ------------------------------------------------------------ status
    def set_status(self, text: str) -> None:
        """Say ``text`` on the status line (the state stays)."""
        self.status = text
        self.status_changed.emit()

    def _say_if_ready(self, text: str) -> None:
        """The relevance's status, while questions are taken (an answer or an encoding has its own)."""
        if self.state == ChatState.READY:
            self.set_status(text)

    def _set_state(self, state: ChatState, message: str, error: bool = False) -> None:
        self.state = state
        self.status = message
        self.status_is_error = error
        self.status_changed.emit()
        self.state_changed.emit(state)

    # ------------------------------------------------------------ from the reader
    def set_volume(self, volume: Volume) -> None:
        """A new scan is shown: put the current transcript aside, show the scan's own (empty the
        first time, restored when it comes back) and encode it for the model."""
        from inference.io import scan_identity  # loaded with the scan already (the load worker's)

        if self._running is not None:
            self._running[1].cancel.set()  # its stopped answer stays in its own scan's transcript
            self._running = None
        self._encode_cancel.set()  # an encoding of the scan going away is not wanted any more
        self.relevance.cancel_waiting()  # nor the relevance of an answer about it
        self.sent.clear()
        self.volume = volume
        self._generation += 1
        self._scan_key = scan_identity(volume)
        self._show_transcript()
        if self.model_info is not None:
            self._encode()

    @property
    def model_name(self) -> str:
        """The name of the model that answers ("" before one has started)."""
        return self.model_info["name"] if self.model_info is not None else ""

    def _show_transcript(self) -> None:
        """Show the transcript of the scan in view as the current model answered it."""
        self.transcript = self.store.for_scan(self._scan_key, self.model_name)
        self.transcript.scan_id = self._scan_key
        self.transcript.description = scan_summary(self.volume)
        self.selected_row = len(self.entries) - 1
        self.transcript_switched.emit()
        self.selection_changed.emit(self.selected)
        if self.entries:
            self.set_status(f"This scan's {len(self.entries)} earlier question(s) are restored.")

    def select(self, row: int) -> None:
        """Select question ``row`` of the transcript (-1: none)."""
        if row != self.selected_row:
            self.selected_row = row
            self.selection_changed.emit(self.selected)

    def ask(self, question: Question | str, max_tokens: int | None = None) -> Entry | None:
        """Send a question (or an open question's text) to the model; returns its transcript
        entry (None when not ready)."""
        if self.state != ChatState.READY:
            return None
        if isinstance(question, str):
            question = Question("open", question)
        entry = Entry(self.transcript.next_qid, question, model_input=self.sent.summary())
        self.transcript.next_qid += 1
        request = Request(question, max_tokens or self.max_tokens)
        self._running = (entry, request)
        self.entries.append(entry)
        self.entry_added.emit(entry)
        self.select(len(self.entries) - 1)
        self._set_state(ChatState.ANSWERING, "Answering… (Stop keeps what has streamed)")
        request_id, self._next_request = self._next_request, self._next_request + 1
        self._pending[request_id] = (entry, self._generation)
        self.relevance.cancel_waiting()  # an earlier answer's relevance not started yet: this question first
        self.ask_requested.emit(request_id, request)
        return entry

    def stop(self) -> None:
        """Stop the answer being generated (what streamed is kept), or a slice-set model's
        encoding of the scan (after the slice it is on; the model keeps what it had)."""
        if self._running is not None:
            self._running[1].cancel.set()
        elif self.state == ChatState.ENCODING and self.encoding_can_stop and not self._encode_cancel.is_set():
            self._encode_cancel.set()
            self.set_status("Stopping the encoding after this slice…")

    def encode_again(self) -> None:
        """Encode the scan in view after its encoding was stopped."""
        if self.state == ChatState.ENCODE_STOPPED and self.volume is not None:
            self._encode()

    def begin_model_change(self, words: str) -> bool:
        """Another model is about to be loaded (a switch, or a comparison that closes this
        one): stop what runs, take no questions meanwhile and say ``words``; False (nothing
        done) while a model is already loading."""
        if self.state == ChatState.STARTING:
            return False
        if self._running is not None:
            self._running[1].cancel.set()  # its stopped answer stays in its transcript
            self._running = None
        self._encode_cancel.set()
        self.relevance.cancel_waiting()
        self._before_change = self.state
        self._generation += 1  # what the worker still says about the scan is dropped
        self._set_state(ChatState.STARTING, words)
        return True

    def change_failed(self, message: str, reloading: bool) -> None:
        """The other model could not be loaded (``message``: why); the model that was there
        stays, already holding the scan or (``reloading``) loaded again, which :meth:`started`
        is then told of."""
        if reloading:
            self.set_status(f"{message} Loading {self.model_name} again…")
            return
        before, self._before_change = self._before_change, None
        if before in (ChatState.READY, ChatState.ANSWERING):
            self._set_state(ChatState.READY, f"{message} Still using {self.model_name}.", error=True)
        elif self.volume is not None and self.model_info is not None:
            self._encode()
            self.set_status(f"{message} Still using {self.model_name}; encoding the scan again…")
        else:
            self._set_state(before or ChatState.IDLE, f"{message} Still using {self.model_name}.", error=True)

    def _encode(self) -> None:
        self._encode_cancel = threading.Event()
        self._encode_estimate = None
        self._set_state(ChatState.ENCODING, "Encoding the scan for the model…")
        self.encode_requested.emit(self._generation, self.volume, self._encode_cancel)

    # ------------------------------------------------------------ from the worker
    def started(self, info: ModelInfo) -> None:
        """The model is loaded (at start, after a switch, or back after a comparison): show its
        transcript of the scan in view, if any, and encode the scan for it."""
        switched = info["name"] != self.model_name
        self.model_info = info
        self._before_change = None
        if switched:
            self.relevance.reset_availability()
        self.model_loaded.emit(info)
        if self.volume is not None:
            if switched:
                self._show_transcript()
            self._encode()
        else:
            self._set_state(ChatState.IDLE, "Model ready; open a scan to ask about it.")

    def start_failed(self, message: str) -> None:
        """The model could not be loaded."""
        self._set_state(ChatState.FAILED, f"The model could not be loaded; the viewer works without chat. {message}",
                        error=True)

    def encode_started(self, generation: int, total: int, seconds: float | None) -> None:
        """A slice-set model starts encoding ``total`` slices of scan ``generation`` (``seconds``:
        this machine's estimate, None before it has measured a slice)."""
        if generation == self._generation and not self._encode_cancel.is_set():
            self._encode_estimate = seconds
            self.set_status(encoding_started_words(total, seconds))

    def encode_progress(self, generation: int, done: int, total: int) -> None:
        """Slice ``done`` of ``total`` of scan ``generation`` is encoded."""
        if generation == self._generation and not self._encode_cancel.is_set():
            self.set_status(encoding_progress_words(done, total, self._encode_estimate))

    def scan_stopped(self, generation: int) -> None:
        """The encoding of scan ``generation`` was stopped: the model kept the scan it had read
        before, which is not the one in view, so questions wait until this one is encoded."""
        if generation == self._generation:
            self._set_state(ChatState.ENCODE_STOPPED,
                            "Encoding stopped: the model has not read this scan, so it takes no questions "
                            "about it yet. Encode this scan to ask.")

    def scan_encoded(self, generation: int, result: EncodedScan) -> None:
        """Scan ``generation`` is encoded: questions are taken."""
        if generation != self._generation:
            return
        self.sent.set(result["sent_slices"], self.volume)
        region = result["region"]
        self.transcript.region_notice = region.message if region.warns else ""
        self.region_changed.emit()  # before any answer
        total = sum(result["timings"].values())
        sent = f" ({self.sent.summary()})" if len(self.sent) else ""
        self._set_state(ChatState.READY, f"Ready: scan encoded in {total:.1f} s{sent}. Ask a question.")

    def scan_failed(self, generation: int, message: str) -> None:
        """The model could not read scan ``generation``."""
        if generation == self._generation:
            self._set_state(ChatState.SCAN_FAILED, f"The model could not read this scan: {message}", error=True)

    def add_piece(self, request_id: int, piece: str) -> None:
        """A piece of request ``request_id``'s answer streamed."""
        entry, _ = self._pending.get(request_id, (None, 0))
        if entry is not None:
            entry.text += piece
            self.piece_added.emit(entry)

    def answered(self, request_id: int, answer: Answer) -> None:
        """Request ``request_id`` is answered (or stopped: ``answer.cancelled``); its occlusion
        relevance is asked for while the model still holds the scan it is about."""
        entry, generation = self._pending.pop(request_id, (None, 0))
        if entry is not None:
            entry.answer = answer
            entry.text = answer.text
            if generation == self._generation and entry in self.entries:
                self.relevance.request(request_id, entry)  # before the entry is shown finished: it says so
            self._finish(entry)

    def ask_failed(self, request_id: int, message: str) -> None:
        """Request ``request_id`` failed."""
        entry, _ = self._pending.pop(request_id, (None, 0))
        if entry is not None:
            entry.error = message
            self._finish(entry)

    def _finish(self, entry: Entry) -> None:
        if self._running is not None and self._running[0] is entry:
            self._running = None
        if entry in self.entries:  # else it belongs to a scan no longer shown (stopped when it went)
            self.entry_changed.emit(entry)
            if self.state == ChatState.ANSWERING:
                self._set_state(ChatState.READY, self.relevance.waiting_words(entry) or "Ready. Ask another question.")
            if self.selected is entry:
                self.selection_changed.emit(entry)
        self.answer_finished.emit(entry)
