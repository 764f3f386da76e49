"""``ctchat batch --ray ADDRESS``: the same job on a Ray cluster, one model per actor.

Ray is imported only here (:func:`import_ray`, which switches its usage stats off), and only
when ``--ray`` is given: the runtime runs without it. Each actor asks Ray for one GPU when the
cluster has GPUs (and ``--device`` allows CUDA), else for its share of CPUs; scans are handed out
whole, lines come back to this process to be written.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Callable, Iterable

from ..io.errors import CTLoadError
from .inputs import ScanJob
from .runner import Record, RunSettings, ScanAnswerer


class _Answerer:
    """The actor's body: one model answering whole scans."""

    def __init__(self, settings: RunSettings) -> None:
        self._answerer = ScanAnswerer(settings)

    def answer(self, job: ScanJob) -> list[Record]:
        return self._answerer.answer(job)


def import_ray():
    """Ray, with its usage stats off: a cluster that ctchat starts (``ray.init`` with no running
    cluster to join) would otherwise report to usage-stats.ray.io every hour, and ctchat makes
    no network calls. The switch overrides an inherited value; Ray's workers inherit it."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        import ray
    except ImportError:
        raise CTLoadError("--ray needs Ray: install ctchat's 'batch' extra (pip install 'ctchat[batch]')") from None
    return ray


def run_ray(jobs: Iterable[ScanJob], settings: RunSettings, address: str, n_actors: int | None,
            on_record: Callable[[Record], None]) -> None:
    """The jobs over Ray actors on the cluster at ``address`` (``auto``: the one this machine
    belongs to); joins a cluster already started in this process (as the tests do)."""
    ray = import_ray()
    if not ray.is_initialized():
        _join_cluster(ray, address)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if settings.device != "cpu" else 0
    cpus = int(resources.get("CPU", 1))
    n = n_actors or (gpus if gpus else max(1, cpus // 2))
    per_actor = max(1, cpus // n)
    settings = replace(settings, n_threads=settings.n_threads or per_actor)
    actor = ray.remote(num_gpus=1 if gpus else 0, num_cpus=per_actor)(_Answerer)
    from ray.util import ActorPool

    pool = ActorPool([actor.remote(settings) for _ in range(n)])
    for records in pool.map_unordered(lambda a, job: a.answer.remote(job), list(jobs)):
        for record in records:
            on_record(record)


def _join_cluster(ray, address: str) -> None:
    """``ray.init`` at ``address``; no cluster there is a sentence saying how to get one."""
    try:
        ray.init(address=address, log_to_driver=False)
    except ConnectionError:
        where = " (this machine belongs to none)" if address == "auto" else f" at {address}"
        raise CTLoadError(
            f"--ray {address}: no Ray cluster was found{where}; start one with `ray start --head` (then --ray auto), give a "
            "cluster's address with --ray ADDRESS, or leave --ray out to run on this machine (--workers N)"
        ) from None
