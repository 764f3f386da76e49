"""``ctchat bench batch``: scans per minute for one process, ``--workers N`` and Ray, same run.

The same jobs (every scan of a folder, the same questions) are answered by each backend into its
own results file, scan cache off so every backend encodes every scan. Wall time gives scans per
minute; the lines' own timings say where the time went (load, preprocess, vision, LLM prefix,
answers), summed over all workers (so with N workers they add up to about N x the wall time).
The answers of every backend are compared with the single process's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from inference.batch.results import read_results
from inference.batch.runner import RunSettings
from inference.commands.batch import jobs_for, run_jobs
from inference.question import Question
from inference.resources import shared_ct_dir

_SPLIT = (("load", ("scan_load",)), ("preprocess", ("scan_preprocess",)), ("vision", ("scan_vision",)),
          ("llm prefix", ("scan_llm_prefix",)), ("answers", ("total",)))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench batch`` target."""
    p = subparsers.add_parser("batch", help="scans per minute: one process vs --workers vs Ray, same run")
    p.add_argument("input", nargs="?", help="folder of scans (default: the shared real CTs' nifti folder)")
    p.add_argument("--question", action="append", default=[], help="questions per scan (repeatable)")
    p.add_argument("--bundle", default="default")
    p.add_argument("--workers", type=int, default=2, help="processes of the --workers run (default 2)")
    p.add_argument("--no-ray", action="store_true", help="leave the Ray run out")
    p.add_argument("--max-tokens", type=int, default=32)
    p.set_defaults(func=run)


def _split(records: list[dict]) -> dict[str, float]:
    """Seconds per stage, summed over the records (scan stages counted once per scan)."""
    out = {name: 0.0 for name, _ in _SPLIT}
    seen: set[str] = set()
    for r in records:
        t = r.get("timings_s") or {}
        first = r["scan_id"] not in seen
        seen.add(r["scan_id"])
        for name, keys in _SPLIT:
            if name == "answers" or first:
                out[name] += sum(t.get(k, 0.0) for k in keys)
    return out


def _answers(records: list[dict]) -> dict:
    return {(r["scan_id"], r["row"]): (r.get("answer"), r.get("error")) for r in records}


def run(args: argparse.Namespace) -> int:
    """Run each backend on the same jobs; print scans/min, the time split and whether answers agree."""
    folder = Path(args.input) if args.input else shared_ct_dir() / "nifti"
    questions = [Question.typed(q) for q in args.question] or [
        Question.typed("Is there a nodule or mass in the lungs?"), Question.yes_no("lung nodule")]
    jobs = jobs_for(folder, questions, "hash")
    settings = RunSettings(args.bundle, max_tokens=args.max_tokens, scan_cache=False)
    backends = [("1 process", {}), (f"--workers {args.workers}", {"workers": args.workers})]
    if not args.no_ray:
        backends.append(("Ray (local, 1 actor per 2 CPUs)", {"ray_address": "local"}))
    print(f"{len(jobs)} scans x {len(questions)} questions from {folder}, bundle {args.bundle}, "
          f"scan cache off, up to {args.max_tokens} tokens per answer")
    header = f"{'backend':<34} {'wall s':>7} {'scans/min':>9}  " + " ".join(f"{n:>10}" for n, _ in _SPLIT)
    print(header + "  answers vs 1 process")
    reference = None
    with tempfile.TemporaryDirectory(prefix="ctchat-bench-batch-") as tmp:
        for i, (name, kwargs) in enumerate(backends):
            out = Path(tmp) / f"{i}.jsonl"
            t0 = time.perf_counter()
            run_jobs(jobs, out, settings, quiet=True, **kwargs)
            wall = time.perf_counter() - t0
            records = read_results(out)
            answers = _answers(records)
            reference = reference or answers
            same = "same" if answers == reference else "DIFFERENT"
            split = _split(records)
            print(f"{name:<34} {wall:>7.1f} {60 * len(jobs) / wall:>9.2f}  "
                  + " ".join(f"{split[n]:>9.1f}s" for n, _ in _SPLIT) + f"  {same}")
    print("(stage seconds are summed over workers; wall time includes starting each backend's models)")
    return 0
