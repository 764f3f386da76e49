"""One question asked of several installed models in turn, for the viewer's Compare models
dialog: :func:`inference.chat.compare.ask_models` one bundle at a time, so that the dialog
can say "model k of n" and a Cancel takes effect between two models (one model is in memory
at a time, as ``ask_models`` keeps it).

It runs on the chat's worker thread, with the chat's own session closed meanwhile (the worker
opens it again afterwards).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from inference.chat.compare import ModelAnswer
    from inference.io import Volume
    from inference.question import Question


@dataclass
class CompareRequest:
    """Which bundles answer which question about which scan, and the dialog's stop switch."""

    bundles: list[str]
    volume: Volume
    question: Question
    max_tokens: int = 128
    relevance: bool = True  # each answer's occlusion relevance (seconds on small models)
    slices: int | None = None  # a slice-set model's budget (the viewer's --slices)
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class CompareResult:
    """The answers of the models asked (fewer than asked when cancelled)."""

    answers: list[ModelAnswer]
    cancelled: bool


def run_comparison(request: CompareRequest, on_model: Callable[[int, int, str], None]) -> CompareResult:
    """Ask each bundle of ``request`` in turn; ``on_model(k, n, name)`` before the k-th (from 1).

    A model that fails in a way ``ask_models`` does not expect still gets its sentence in
    place of an answer, and the others answer."""
    from inference.chat.compare import ModelAnswer, ask_models
    from inference.chat.scan_cache import scan_cache_from_env

    answers: list[ModelAnswer] = []
    total = len(request.bundles)
    for k, name in enumerate(request.bundles, start=1):
        if request.cancel.is_set():
            return CompareResult(answers, cancelled=True)
        on_model(k, total, name)
        try:
            answers += ask_models([name], request.volume, request.question, request.max_tokens,
                                  relevance=request.relevance, slices=request.slices,
                                  scan_cache=scan_cache_from_env())
        except Exception as exc:  # noqa: BLE001 - one model's failure is its answer's sentence
            answers.append(ModelAnswer(name, error=str(exc) or type(exc).__name__))
    return CompareResult(answers, cancelled=False)
