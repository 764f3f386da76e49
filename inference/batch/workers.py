"""Several models at once: ``--workers N`` processes on this machine, or Ray actors on a
cluster (``--ray ADDRESS``), one model each; each takes a whole scan at a time, so a scan's
questions share its encoding, and sends back its lines for the parent to write."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from typing import Callable, Iterable

from .inputs import ScanJob
from .runner import Record, RunSettings, ScanAnswerer

_answerer: ScanAnswerer | None = None  # the model of this worker process


def split_threads(n_workers: int, n_cpus: int | None = None) -> int:
    """CPU threads per model: the cores shared out, at least one each."""
    return max(1, (n_cpus or os.cpu_count() or 1) // n_workers)


def _start_worker(settings: RunSettings) -> None:
    global _answerer
    _answerer = ScanAnswerer(settings)


def _answer_in_worker(job: ScanJob) -> list[Record]:
    assert _answerer is not None, "worker initialiser not run"
    return _answerer.answer(job)


def run_processes(jobs: Iterable[ScanJob], settings: RunSettings, n_workers: int,
                  on_record: Callable[[Record], None]) -> None:
    """The jobs over ``n_workers`` processes (spawned: llama.cpp's threads do not survive fork)."""
    if settings.n_threads is None:
        settings = replace(settings, n_threads=split_threads(n_workers))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(n_workers, mp_context=context, initializer=_start_worker,
                             initargs=(settings,)) as pool:
        _drain([pool.submit(_answer_in_worker, job) for job in jobs], on_record)


def _drain(futures: list[Future], on_record: Callable[[Record], None]) -> None:
    """Write each scan's lines as soon as that scan is done; on Ctrl-C cancel the rest."""
    left = set(futures)
    try:
        while left:
            finished, left = wait(left, return_when=FIRST_COMPLETED)
            for future in finished:
                for record in future.result():
                    on_record(record)
    finally:
        for future in left:
            future.cancel()
