"""The chat model off the UI thread: one :class:`ChatWorker` in its own QThread.

Requests (start the session, encode a scan, answer a question) are queued to the worker
thread through signals and run there one at a time, in order; a session answers one
question at a time. Results and streamed pieces come back as signals, queued to the UI thread,
where :class:`ChatThread` hands them to the :class:`~viewer.models.chat.ChatModel`.
Stopping an answer sets a :class:`threading.Event` the generation loop checks per token.

The session is whatever :func:`inference.chat.open_session` opens for the bundle: a
:class:`~inference.chat.ChatSession` for a native-3D model, a
:class:`~inference.chat.slice_session.SliceSetSession` for a slice-set model, which encodes a
scan slice by slice: it reports each slice, and its encoding stops between slices when the
request's :class:`threading.Event` is set (the session keeps the scan it had).

Switching the model (the Models dialog's Use) closes the session and opens the other bundle's;
a bundle that does not load leaves the previous model in place. Comparing models closes the
session, asks each model in turn (:mod:`viewer.chat.compare_run`) and opens the session again.

After an answer the chat may ask for its occlusion relevance: a request of its own, queued
behind the answer, so that a question asked before it starts can keep it from starting (the
computation itself, seconds to minutes, runs to its end once begun).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from inference.chat.warm_imports import import_model_modules

from ..models.chat import ChatModel, EncodedScan, ModelInfo, Request
from ..models.relevance import RelevanceRequest
from .compare_run import CompareRequest, run_comparison

if TYPE_CHECKING:
    from inference.bundle import BundleInfo
    from inference.chat import ChatSession
    from inference.io import Volume


def default_threads() -> int:
    """CPU threads for the model: one core is left to the UI (llama.cpp threads busy-wait)."""
    return max(1, (os.cpu_count() or 2) - 1)


class ChatWorker(QObject):
    """Owns the ChatSession; its slots run in the worker thread."""

    ready = Signal(object)  # ModelInfo
    failed = Signal(str)  # the session could not start (bundle / LLM error)
    encodeStarted = Signal(int, int, object)  # (scan generation, slices to encode, seconds or None)
    encodeProgress = Signal(int, int, int)  # (scan generation, slices encoded, slices in all)
    scanEncoded = Signal(int, object)  # (scan generation, EncodedScan)
    scanStopped = Signal(int)  # (scan generation): its encoding was stopped between slices
    scanFailed = Signal(int, str)
    piece = Signal(int, str)  # (request id, streamed text)
    answered = Signal(int, object)  # (request id, inference.chat.session.Answer)
    askFailed = Signal(int, str)
    relevanceDone = Signal(int, object)  # (request id, inference.chat.relevance.SliceRelevance)
    relevanceFailed = Signal(int, str)
    relevanceSkipped = Signal(int)  # its switch was set before it started
    relevanceUndefined = Signal(int, str)  # the bundle has none (NoRelevance's sentence)
    switchFailed = Signal(str, bool)  # (why, whether the previous model is being loaded again)
    compareProgress = Signal(int, int, str)  # (model k, of n, its name): k is being asked
    compareDone = Signal(object)  # viewer.chat.compare_run.CompareResult

    def __init__(self, bundle: str = "default", n_threads: int | None = None, slices: int | None = None) -> None:
        super().__init__()
        self.bundle_name = bundle
        self.n_threads = n_threads or default_threads()
        self.slices = slices  # a slice-set model's slice budget (None: its recipe's)
        self.session: ChatSession | None = None  # once started
        self.slice_set = False  # the session reads a scan as slices (a SliceSetSession)

    @Slot()
    def start_session(self) -> None:
        """Load the bundle and open its session (~2 s)."""
        error = self._open()
        if error:
            self.failed.emit(error)

    @Slot(str)
    def switch_bundle(self, name: str) -> None:
        """Close the session and open ``name``'s; when ``name`` does not load, the previous
        model stays (still open when the bundle's files are refused, else opened again)."""
        from inference.bundle import load_bundle

        try:
            load_bundle(name)  # its files checked while the model in memory is still there
        except Exception as exc:  # noqa: BLE001 - BundleError, a broken file: one sentence
            self.switchFailed.emit(f"{name} could not be loaded: {exc}", False)
            return
        previous = self.bundle_name
        self._close()
        self.bundle_name = name
        error = self._open()
        if error:
            self.bundle_name = previous
            self.switchFailed.emit(f"{name} could not be loaded: {error}", True)
            self.start_session()

    @Slot(object)
    def compare(self, request: CompareRequest) -> None:
        """Ask each model of ``request`` in turn with this session closed (one model in
        memory), then open it again."""
        self._close()
        try:
            result = run_comparison(request, self.compareProgress.emit)
        finally:
            self.start_session()  # its ready signal follows the result
        self.compareDone.emit(result)

    def _close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def _open(self) -> str | None:
        """Open :attr:`bundle_name`'s session and say ``ready``; the sentence why not, else None."""
        try:
            from inference.bundle import SLICE_SET, load_bundle
            from inference.chat import open_session
            from inference.chat.scan_cache import scan_cache_from_env

            bundle = load_bundle(self.bundle_name)
            self.session = open_session(bundle, n_threads=self.n_threads, scan_cache=scan_cache_from_env(),
                                        slices=self.slices)
        except Exception as exc:  # noqa: BLE001 - BundleError, LLMError, a broken file: the viewer goes on
            return str(exc)
        self.slice_set = bundle.kind == SLICE_SET
        b = self.session.bundle
        facts = self._slice_set_facts(b) if self.slice_set else self._volume_facts(b)
        self.ready.emit(ModelInfo(name=b.name, kind=b.kind, trained=b.trained, summary=b.summary(), **facts,
                                  providers=list(self.session.providers), threads=self.n_threads, scope=b.scope))
        return None

    def _volume_facts(self, b: BundleInfo) -> dict[str, Any]:
        """What a native-3D model reads: one grid of the whole volume in one HU window; TG-IS."""
        lo, hi = b.recipe.hu_window
        grid = tuple(b.recipe.target_shape_zyx)
        return {"hu_window": (lo, hi), "grid": grid, "recipe": b.recipe.name,
                "input_words": f"recipe {b.recipe.name}, HU window [{lo:g}, {hi:g}], "
                               f"grid {' × '.join(str(n) for n in grid)}",
                "recipe_words": {}, "slice_budget": 0, "slice_attention": self.session.attention.available}

    def _slice_set_facts(self, b: BundleInfo) -> dict[str, Any]:
        """What a slice-set model reads: some stored slices, each an RGB image of three HU
        windows; no TG-IS (``hu_window`` is the first channel's, ``grid`` the images')."""
        r, budget = b.slice_recipe, self.session.budget
        return {"hu_window": r.windows[0], "grid": (budget, r.image_size, r.image_size), "recipe": "slice set",
                "input_words": f"up to {budget} stored axial slices, each a {r.image_size} × {r.image_size} "
                               "RGB image of three HU windows",
                "recipe_words": dict(b.summary()["input_recipe_words"]), "slice_budget": budget,
                "slice_attention": False}

    @Slot(int, object, object)
    def encode_scan(self, generation: int, volume: Volume, cancel: threading.Event) -> None:
        """Preprocess and encode ``volume`` (the session's cached scan prefix); a slice-set
        model's encoding reports each slice and stops between slices once ``cancel`` is set."""
        if self.session is None:
            return
        try:
            if self.slice_set:
                timings = self._encode_slices(generation, volume, cancel)
                if timings is None:
                    self.scanStopped.emit(generation)
                    return
            else:
                timings = self.session.load_scan(volume)
        except Exception as exc:  # noqa: BLE001
            self.scanFailed.emit(generation, str(exc))
            return
        sent = list(self.session.sent_slices) if self.slice_set else None
        self.scanEncoded.emit(generation, EncodedScan(timings=timings, region=self.session.region, sent_slices=sent))

    def _encode_slices(self, generation: int, volume: Volume, cancel: threading.Event) -> dict[str, float] | None:
        """A slice-set session's load_scan, said when its encoding starts (how many slices, how
        long; not on a scan cache hit) and after each slice; None when stopped."""
        from inference.chat.slice_session import EncodeCancelled
        from inference.slices.recipe import SliceRecipeError

        session = self.session
        try:
            total = len(session.bundle.slice_recipe.sample(volume.n_original, session.budget))
            seconds = session.estimate_seconds(volume)
        except SliceRecipeError:
            total, seconds = 0, None  # load_scan refuses the scan in its own sentence
        try:  # said when the slices are encoded: a scan the cache answers has no wait to announce
            return session.load_scan(volume, on_progress=lambda done, n: self.encodeProgress.emit(generation, done, n),
                                     cancel=cancel,
                                     on_encode=lambda: total and self.encodeStarted.emit(generation, total, seconds))
        except EncodeCancelled:
            return None

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

    @Slot(int, object)
    def compute_relevance(self, request_id: int, request: RelevanceRequest) -> None:
        """The occlusion relevance of the answer just given, unless ``request.cancel`` was set
        before it started; setting it later stops it between two slabs."""
        from inference.chat.relevance import NoRelevance, RelevanceStopped, occlusion_relevance

        if request.cancel.is_set() or self.session is None:
            self.relevanceSkipped.emit(request_id)
            return
        try:
            relevance = occlusion_relevance(self.session, request.answer, cancel=request.cancel)
        except RelevanceStopped:
            self.relevanceSkipped.emit(request_id)
            return
        except NoRelevance as exc:
            self.relevanceUndefined.emit(request_id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - an LLMError, a broken cache: the chat goes on
            self.relevanceFailed.emit(request_id, str(exc))
            return
        self.relevanceDone.emit(request_id, relevance)

    @Slot()
    def close_session(self) -> None:
        """Free the LLM and end the worker thread's event loop."""
        self._close()
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
    _encode = Signal(int, object, object)
    _ask = Signal(int, object)
    _relevance = Signal(int, object)
    _switch = Signal(str)
    _compare = Signal(object)
    _close = Signal()

    def __init__(self, model: ChatModel, bundle: str = "default", n_threads: int | None = None,
                 parent: QObject | None = None, slices: int | None = None) -> None:
        super().__init__(parent)
        # Here, before the window shows: an import in the worker would stall the window (~50 ms).
        import_model_modules()
        self.thread = QThread()
        self.thread.setObjectName("chat")
        self.worker = ChatWorker(bundle, n_threads, slices)
        self.worker.moveToThread(self.thread)
        self._start.connect(self.worker.start_session)
        self._encode.connect(self.worker.encode_scan)
        self._ask.connect(self.worker.ask)
        self._relevance.connect(self.worker.compute_relevance)
        self._switch.connect(self.worker.switch_bundle)
        self._compare.connect(self.worker.compare)
        self._close.connect(self.worker.close_session)
        w = self.worker
        for signal, target in ((w.ready, model.started), (w.failed, model.start_failed),
                               (w.encodeStarted, model.encode_started), (w.encodeProgress, model.encode_progress),
                               (w.scanEncoded, model.scan_encoded), (w.scanStopped, model.scan_stopped),
                               (w.scanFailed, model.scan_failed), (w.piece, model.add_piece),
                               (w.answered, model.answered), (w.askFailed, model.ask_failed),
                               (w.relevanceDone, model.relevance.done), (w.relevanceFailed, model.relevance.failed),
                               (w.relevanceSkipped, model.relevance.skipped),
                               (w.relevanceUndefined, model.relevance.undefined),
                               (w.switchFailed, model.change_failed)):
            signal.connect(UiThreadCall(target, self).call)
        model.encode_requested.connect(self.encode)
        model.ask_requested.connect(self.ask)
        model.relevance.requested.connect(self.compute_relevance)
        self.thread.start()

    def start(self) -> None:
        """Start the session (result: ``worker.ready`` or ``worker.failed``)."""
        self._start.emit()

    def encode(self, generation: int, volume: Volume, cancel: threading.Event) -> None:
        """Queue the encoding of a scan (``cancel`` stops a slice-set model's between slices)."""
        self._encode.emit(generation, volume, cancel)

    def ask(self, request_id: int, request: Request) -> None:
        """Queue a question."""
        self._ask.emit(request_id, request)

    def compute_relevance(self, request_id: int, request: RelevanceRequest) -> None:
        """Queue an answer's occlusion relevance (behind whatever is queued already)."""
        self._relevance.emit(request_id, request)

    def switch(self, bundle: str) -> None:
        """Queue a switch to ``bundle`` (result: ``worker.ready`` or ``worker.switchFailed``)."""
        self._switch.emit(bundle)

    def compare(self, request: CompareRequest) -> None:
        """Queue a comparison (``worker.compareProgress`` per model, then ``worker.compareDone``)."""
        self._compare.emit(request)

    def shutdown(self) -> None:
        """Free the model and stop the thread.

        Waits for the running request to end: a stopped answer ends within a token and a
        stopped slice-set encoding within a slice, but a session start, a 3D model's scan
        encoding or an occlusion relevance begun cannot be interrupted (seconds; the relevance
        of a large model's answer, longer). A QThread destroyed while it runs aborts the
        process, so there is no time-out here.
        """
        if not self.thread.isRunning():
            return
        self._close.emit()  # runs after the queued requests, then quits the thread
        self.thread.wait()
