"""``ctchat bench relevance``: what one answer's occlusion relevance costs, against the answer.

For each bundle given (a native-3D bundle such as the default or a converted M3D-LaMed, or a
slice-set bundle): the scan is loaded once, a short warm-up answer is given, then the measured
answer and its relevance, same run, same question; medians of ``--runs``. Printed: the
seconds of each (and the answer's tokens), the number of slabs (a 3D bundle's depth rows of its token grid, fixed by its
layout; a slice set's images, one per slice sent: ``--slabs``), their ratio, and the ratio
extrapolated to 32 slabs (linear in the slabs: every slab is one more pass, its zeroed tokens
decoded again, with everything after them for a 3D bundle, then the answer teacher-forced),
against the goal of at most 3x the answer's time for 32 slabs.

Example:
    $ ctchat bench relevance --bundle default --bundle ~/bundles/medgemma --slabs 8
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

QUESTION = "Where is the lesion located?"
GOAL_SLABS, GOAL_RATIO = 32, 3.0  # relevance of 32 slabs within 3x the answer's own time
CPU_SLABS = 4  # a slice set's default on the CPU: a full-size slice takes minutes to encode on 2 cores


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``relevance`` to ``ctchat bench``."""
    p = subparsers.add_parser("relevance", help="occlusion relevance of one answer against the answer's own time")
    p.add_argument("--bundle", action="append", default=[],
                   help="bundle name or folder, repeatable (default: default); 3D and slice-set bundles alike")
    p.add_argument("--slabs", type=int, default=None,
                   help=f"slice-set bundles: slices sent, one slab each (default {GOAL_SLABS} on a GPU, "
                        f"{CPU_SLABS} on the CPU); a 3D bundle's slabs are its token grid's depth rows")
    p.add_argument("--scan", default=None, help="CT (DICOM folder / NIfTI); default: the demo CT")
    p.add_argument("--question", default=QUESTION)
    p.add_argument("--tokens", type=int, default=16, help="tokens generated per answer at most (default 16)")
    p.add_argument("--runs", type=int, default=3, help="timed runs of each (default 3)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=run)


@dataclass
class RelevanceTiming:
    """One bundle's figures (medians of the runs)."""

    bundle: str
    kind: str
    slabs: int
    answer_s: float
    relevance_s: float
    answer_tokens: int
    note: str = ""  # why there is no relevance (NoRelevance's sentence); the figures are then 0

    @property
    def ratio(self) -> float:
        return self.relevance_s / self.answer_s if self.answer_s > 0 else float("nan")

    @property
    def ratio_at_goal(self) -> float:
        """The ratio at :data:`GOAL_SLABS` slabs, linear in the slabs (the answer's time stays)."""
        return self.ratio * GOAL_SLABS / self.slabs if self.slabs else float("nan")


def slabs_default(args: argparse.Namespace) -> int:
    """``--slabs``, else 32 where llama.cpp offloads to a GPU and 4 on the CPU."""
    from inference.llm.library import llama_library

    if args.slabs is not None:
        return args.slabs
    gpu = args.device != "cpu" and bool(llama_library().llama_supports_gpu_offload())
    return GOAL_SLABS if gpu else CPU_SLABS


def measure(name: str, volume, args: argparse.Namespace) -> RelevanceTiming:
    """Open ``name``, load ``volume``, and time answers and their relevance (see the module docstring)."""
    from inference.bundle import SLICE_SET, load_bundle
    from inference.chat import open_session
    from inference.chat.relevance import NoRelevance, occlusion_relevance
    from inference.question import Question

    bundle = load_bundle(name)
    slice_set = bundle.kind == SLICE_SET
    chat = open_session(bundle, device=args.device, n_threads=args.threads,
                        slices=slabs_default(args) if slice_set else None)
    question = Question("open", args.question)
    try:
        chat.load_scan(volume)
        chat.ask(question, max_tokens=2)  # warm-up of the question path
        answers, relevances, slabs, tokens = [], [], 0, 0
        for _ in range(args.runs):
            answer = chat.ask(question, max_tokens=args.tokens)
            try:
                relevance = occlusion_relevance(chat, answer)
            except NoRelevance as exc:
                return RelevanceTiming(bundle.name, bundle.kind, 0, answer.timings["total"], 0.0, answer.n_tokens,
                                       str(exc))
            answers.append(answer.timings["total"])
            relevances.append(relevance.seconds)
            slabs, tokens = len(relevance.slab_values), answer.n_tokens
    finally:
        chat.close()
    return RelevanceTiming(bundle.name, bundle.kind, slabs, statistics.median(answers),
                           statistics.median(relevances), tokens)


def table(rows: list[RelevanceTiming]) -> list[str]:
    """The printed table: one line per bundle, and whether each meets the goal."""
    lines = [f"  {'bundle':<30}  {'kind':<10}{'slabs':>6}{'tokens':>7}{'answer':>11}{'relevance':>11}{'ratio':>9}"
             f"{'at ' + str(GOAL_SLABS) + ' slabs':>13}  (goal <= {GOAL_RATIO:g}x at {GOAL_SLABS})"]
    for r in rows:
        if r.note:
            lines.append(f"  {r.bundle:<30}  {r.kind:<10}  no relevance: {r.note}")
            continue
        at_goal = r.ratio_at_goal
        measured = r.slabs == GOAL_SLABS
        verdict = ("met" if at_goal <= GOAL_RATIO else "MISSED") + ("" if measured else ", extrapolated")
        lines.append(f"  {r.bundle:<30}  {r.kind:<10}{r.slabs:>6}{r.answer_tokens:>7}{r.answer_s:>10.3f}s{r.relevance_s:>10.3f}s"
                     f"{r.ratio:>8.1f}x{at_goal:>12.1f}x  {verdict}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Measure every bundle given and print the table."""
    from inference.io import load_volume
    from inference.resources import DEMO_CT

    volume = load_volume(args.scan or DEMO_CT)
    t0 = time.perf_counter()
    rows = [measure(name, volume, args) for name in (args.bundle or ["default"])]
    print(f"occlusion relevance of one answer against the answer's own time (same run, same question "
          f"{args.question!r}, at most {args.tokens} tokens); medians of {args.runs}; "
          f"{time.perf_counter() - t0:.0f} s in all")
    print("\n".join(table(rows)))
    print(f"  ('at {GOAL_SLABS} slabs': the measured ratio times {GOAL_SLABS} / slabs, linear in the slabs; "
          "a 3D bundle's slabs are fixed by its token grid)")
    return 0
