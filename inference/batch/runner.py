"""Answering a scan's questions: load it once, encode it once (vision and the LLM's scan
prefix, kept in the KV cache), then every question on top of that prefix."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from .. import __version__
from ..io.errors import CTLoadError
from ..io.loader import load_volume
from ..llm.errors import LLMError
from ..question import QuestionError
from ..slices.recipe import SliceRecipeError
from .inputs import ScanJob
from .relevance_fields import RELEVANCE_KEY, relevance_fields

Record = dict[str, Any]


@dataclass(frozen=True)
class RunSettings:
    """How every worker builds its model and answers (the same in every process and actor)."""

    bundle: str = "default"
    device: str = "auto"
    max_tokens: int = 128
    n_threads: int | None = None
    scan_cache: bool = True
    slices: int | None = None  # a slice-set bundle's slice budget (``--slices``); a 3D bundle has none
    save_model_input: str | None = None  # a folder: each question's exact model input goes under it
    relevance: bool = False  # each answer's occlusion relevance too (``--relevance``: one pass per slab)


def model_input_folder(job: ScanJob, row: int) -> str:
    """The ``--save-model-input`` subfolder of one scan and question: the scan's place in the
    input and the question's key, both counted from 1 (``scan0003_q2``); never a scan id, which
    ``--scan-id path`` makes a path that may hold a patient's name."""
    return f"scan{job.index + 1:04d}_q{row + 1}"


def pending(job: ScanJob, done: set) -> ScanJob | None:
    """The part of ``job`` the results file does not hold yet (None: nothing left)."""
    if (job.scan_id, None) in done:
        return None  # its error line is written
    left = [(row, q) for row, q in job.questions if (job.scan_id, row) not in done]
    unaskable = [u for u in job.unaskable if (job.scan_id, u.row) not in done]
    return replace(job, questions=left, unaskable=unaskable) if left or unaskable else None


class ScanAnswerer:
    """One model (a :class:`~inference.chat.ChatSession`, or its slice-set kind) answering whole scans."""

    def __init__(self, settings: RunSettings) -> None:
        from ..bundle import SLICE_SET, load_bundle
        from ..chat import open_session
        from ..chat.scan_cache import scan_cache_from_env

        self.settings = settings
        self.bundle = load_bundle(settings.bundle)
        self.slice_set = self.bundle.kind == SLICE_SET
        self.chat = open_session(self.bundle, device=settings.device, n_threads=settings.n_threads,
                                 scan_cache=scan_cache_from_env(settings.scan_cache),
                                 slices=settings.slices if self.slice_set else None)
        self._stamp = {"bundle": {"name": self.bundle.name, "version": self.bundle.manifest["version"]},
                       "ctchat_version": __version__}

    def answer(self, job: ScanJob, on_record: Callable[[Record], None] | None = None) -> list[Record]:
        """Every question of ``job``, in order; an unreadable scan is one error line."""
        records: list[Record] = []

        def emit(record: Record) -> None:
            records.append(record)
            if on_record is not None:
                on_record(record)

        for bad in job.unaskable:
            emit({"scan_id": job.scan_id, "row": bad.row, "question": bad.question, "task": bad.task,
                  "error": bad.error, **self._stamp})
        if not job.questions:
            return records
        if job.error:
            emit(self._error(job, job.error))
            return records
        t0 = time.perf_counter()
        try:
            volume = load_volume(job.path, job.series_uid)
        except CTLoadError as exc:
            emit(self._error(job, str(exc)))
            return records
        try:
            scan_timings = {"load": time.perf_counter() - t0, **self.chat.load_scan(volume)}
        except SliceRecipeError as exc:  # a scan this slice-set model cannot be given: the recipe's sentence
            emit(self._error(job, str(exc)))
            return records
        warnings = [w.message for w in volume.warnings]
        for row, question in job.questions:
            emit(self._answer_line(job, row, question, scan_timings, warnings))
        return records

    def _answer_line(self, job: ScanJob, row: int, question, scan_timings: dict, warnings: list[str]) -> Record:
        base = {"scan_id": job.scan_id, "row": row, "question": question.shown, "task": question.task,
                "choices": list(question.choices), "disease": question.disease or None}
        try:
            saved = self._save_model_input(job, row, question)
            answer = self.chat.ask(question, self.settings.max_tokens)
        except (QuestionError, LLMError) as exc:
            return {**base, "error": str(exc), **self._stamp}
        scores = answer.scores_record()  # top_slices counted from 1 on the stored slices
        relevance = relevance_fields(self.chat, answer) if self.settings.relevance else {RELEVANCE_KEY: None}
        p_yes = answer.yes_probability
        return {
            **base,
            "answer": answer.text,
            "yes_probability": None if math.isnan(p_yes) else round(p_yes, 6),
            "choice": None if answer.choice is None else answer.choice.to_dict(),
            "slice_scores": scores,
            **relevance,  # slice_relevance: occlusion's record, or null (and slice_relevance_reason: why)
            "n_tokens": answer.n_tokens,
            "notes": answer.notes,
            "region": self.chat.region.to_dict(),  # status inside/outside/unknown/not_checked, and why
            # the stored slices (from 1) a slice-set model was given; a 3D model is given the whole scan
            "sent_slices": {"slice_grid": "stored", "n_slices": self.chat.model_input.n_stored,
                            "slices": [k + 1 for k in self.chat.sent_slices]} if self.slice_set else None,
            **({"model_input": saved} if saved else {}),
            "warnings": warnings,
            "timings_s": {**{f"scan_{k}": round(v, 4) for k, v in scan_timings.items()},
                          **{k: round(v, 4) for k, v in answer.timings.items()}},
            **self._stamp,
        }

    def _save_model_input(self, job: ScanJob, row: int, question) -> str | None:
        """With ``--save-model-input``: write this question's model input; its subfolder's name."""
        if not self.settings.save_model_input:
            return None
        from ..chat.model_input_files import save_model_input

        name = model_input_folder(job, row)
        save_model_input(self.chat, question, Path(self.settings.save_model_input) / name)
        return name

    def _error(self, job: ScanJob, sentence: str) -> Record:
        return {"scan_id": job.scan_id, "row": None, "error": sentence,
                "rows": [row for row, _ in job.questions], **self._stamp}

    def close(self) -> None:
        self.chat.close()


def run_local(jobs: Iterable[ScanJob], settings: RunSettings, on_record: Callable[[Record], None]) -> None:
    """All jobs in this process, one model."""
    answerer = ScanAnswerer(settings)
    try:
        for job in jobs:
            answerer.answer(job, on_record)
    finally:
        answerer.close()
