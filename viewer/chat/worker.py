"""The chat model off the UI thread: one :class:`ChatWorker` in its own QThread.

Requests (start the session, encode a scan, answer a question) are queued to the worker
thread through signals and run there one at a time, in order; ChatSession answers one
question at a time. Results and streamed pieces come back as signals, queued to the UI thread,
where :class:`ChatThread` hands them to the :class:`~viewer.models.chat.ChatModel`.
Stopping an answer sets a :class:`threading.Event` the generation loop checks per token.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from inference.chat.warm_imports import import_model_modules

from ..models.chat import ChatModel, EncodedScan, ModelInfo, Request

if TYPE_CHECKING:
    from inference.chat import ChatSession
    from inference.io import Volume


def default_threads() -> int:
    """CPU threads for the model: one core is left to the UI (llama.cpp threads busy-wait)."""
    return max(1, (os.cpu_count() or 2) - 1)


class ChatWorker(QObject):
    """Owns the ChatSession; its slots run in the worker thread."""

    ready = Signal(object)  # ModelInfo
    failed = Signal(str)  # the session could not start (bundle / LLM error)
    scanEncoded = Signal(int, object)  # (scan generation, EncodedScan)
    scanFailed = Signal(int, str)
    piece = Signal(int, str)  # (request id, streamed text)
    answered = Signal(int, object)  # (request id, inference.chat.session.Answer)
    askFailed = Signal(int, str)

    def __init__(self, bundle: str = "default", n_threads: int | None = None) -> None:
        super().__init__()
        self.bundle_name = bundle
        self.n_threads = n_threads or default_threads()
        self.session: ChatSession | None = None  # once started

    @Slot()
    def start_session(self) -> None:
        """Load the bundle and create the ChatSession (~2 s)."""
        try:
            from inference.bundle import load_bundle
            from inference.chat import ChatSession
            from inference.chat.scan_cache import scan_cache_from_env

            bundle = load_bundle(self.bundle_name)
            self.session = ChatSession(bundle, n_threads=self.n_threads, scan_cache=scan_cache_from_env())
        except Exception as exc:  # noqa: BLE001 - BundleError, LLMError, a broken file: the viewer goes on
            self.failed.emit(str(exc))
            return
        b = self.session.bundle
        self.ready.emit(ModelInfo(
            name=b.name, trained=b.trained, summary=b.summary(),
            hu_window=tuple(b.recipe.hu_window), grid=tuple(b.recipe.target_shape_zyx),
            recipe=b.recipe.name, providers=list(self.session.providers),
            threads=self.n_threads, slice_attention=self.session.attention.available, scope=b.scope,
        ))

    @Slot(int, object)
    def encode_scan(self, generation: int, volume: Volume) -> None:
        """Preprocess and encode ``volume`` (the session's cached scan prefix)."""
        if self.session is None:
            return
        try:
            timings = self.session.load_scan(volume)
        except Exception as exc:  # noqa: BLE001
            self.scanFailed.emit(generation, str(exc))
            return
        self.scanEncoded.emit(generation, EncodedScan(timings=timings, region=self.session.region))

    @Slot(int, object)
    def ask(self, request_id: int, request: Request) -> None:
        """Answer ``request``, streaming pieces tagged with ``request_id``."""
        if self.session is None:
            self.askFailed.emit(request_id, "the model is not available")
            return
        try:
            answer = self.session.ask(request.question, request.max_tokens, cancel=request.cancel,
                                      on_text=lambda s: self.piece.emit(request_id, s))
        except Exception as exc:  # noqa: BLE001
            self.askFailed.emit(request_id, str(exc))
            return
        self.answered.emit(request_id, answer)

    @Slot()
    def close_session(self) -> None:
        """Free the LLM and end the worker thread's event loop."""
        if self.session is not None:
            self.session.close()
            self.session = None
        QThread.currentThread().quit()


class UiThreadCall(QObject):
    """Calls ``target`` with a signal's arguments on the thread this object lives in, the UI
    thread that made it: a worker's signal connected to :meth:`call` is queued there (connected
    to a plain function, it would run in the worker's thread)."""

    def __init__(self, target: Callable[..., object], parent: QObject) -> None:
        super().__init__(parent)
        self._target = target

    def call(self, *args: object) -> None:
        """Run the target with ``args``."""
        self._target(*args)


class ChatThread(QObject):
    """The UI-side handle: a ChatWorker in its own QThread, driven by queued signals.

    It queues ``model``'s requests to the worker and hands the worker's results back to
    ``model`` on the UI thread.
    """

    _start = Signal()
    _encode = Signal(int, object)
    _ask = Signal(int, object)
    _close = Signal()

    def __init__(self, model: ChatModel, bundle: str = "default", n_threads: int | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Here, before the window shows: an import in the worker would stall the window (~50 ms).
        import_model_modules()
        self.thread = QThread()
        self.thread.setObjectName("chat")
        self.worker = ChatWorker(bundle, n_threads)
        self.worker.moveToThread(self.thread)
        self._start.connect(self.worker.start_session)
        self._encode.connect(self.worker.encode_scan)
        self._ask.connect(self.worker.ask)
        self._close.connect(self.worker.close_session)
        w = self.worker
        for signal, target in ((w.ready, model.started), (w.failed, model.start_failed),
                               (w.scanEncoded, model.scan_encoded), (w.scanFailed, model.scan_failed),
                               (w.piece, model.add_piece), (w.answered, model.answered), (w.askFailed, model.ask_failed)):
            signal.connect(UiThreadCall(target, self).call)
        model.encode_requested.connect(self.encode)
        model.ask_requested.connect(self.ask)
        self.thread.start()

    def start(self) -> None:
        """Start the session (result: ``worker.ready`` or ``worker.failed``)."""
        self._start.emit()

    def encode(self, generation: int, volume: Volume) -> None:
        """Queue the encoding of a scan."""
        self._encode.emit(generation, volume)

    def ask(self, request_id: int, request: Request) -> None:
        """Queue a question."""
        self._ask.emit(request_id, request)

    def shutdown(self) -> None:
        """Free the model and stop the thread.

        Waits for the running request to end: a stopped answer ends within a token, but a
        session start or a scan encoding cannot be interrupted (seconds). A QThread destroyed
        while it runs aborts the process, so there is no time-out here.
        """
        if not self.thread.isRunning():
            return
        self._close.emit()  # runs after the queued requests, then quits the thread
        self.thread.wait()
