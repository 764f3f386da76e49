"""``ctchat ask PATH "question"``: one answer about a scan, streamed, with its slice scores."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import TYPE_CHECKING, Callable

from ..batch.relevance_fields import RELEVANCE_KEY, relevance_fields, relevance_line
from ..chat.scan_cache import scan_cache_from_env
from ..io import load_volume
from ..question import Question
from .model_options import add_model_options

if TYPE_CHECKING:
    from ..chat.session import Answer, ChatSession
    from ..io.volume import Volume

ESTIMATE_WORTH_SAYING_S = 5.0  # a shorter encode needs no warning before it starts
PROGRESS_LINE_EVERY_S = 5.0  # off a terminal (a log file), one progress line this often


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ask`` sub-command."""
    p = subparsers.add_parser("ask", help="ask the model a question about a scan")
    p.add_argument("path", help="DICOM folder or file, or .nii/.nii.gz")
    p.add_argument("question", nargs="?", default="", help="the question (not needed for --task report/yes_no)")
    p.add_argument("--task", default="open", choices=["open", "report", "choice", "yes_no"])
    p.add_argument("--choices", nargs="+", help="choices for --task choice (A, B, C, ... in order)")
    p.add_argument("--disease", default="", help="for --task yes_no, e.g. 'emphysema'")
    p.add_argument("--series", help="series uid when the folder holds several")
    p.add_argument("--bundle", action="append", default=None,
                   help="model bundle name or folder (default: default); give it twice or more to ask "
                        "several models the same question, side by side")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--json", action="store_true", help="one JSON object: answer, slice scores, timings, bundle")
    p.add_argument("--no-scan-cache", action="store_true",
                   help="neither read nor keep the scan's encoding on disk (also: CTCHAT_SCAN_CACHE=0)")
    add_model_options(p, save_model_input_help="write the exact input the model is given for this question into "
                                               "DIR (slice images and prompt, or the 3D array and prompt)")
    p.add_argument("--compare-out", metavar="DIR",
                   help="with several --bundle: write comparison.csv, comparison_slices.csv and comparison.html")
    p.add_argument("--sr", metavar="OUT.dcm",
                   help="also write the answer as a DICOM Structured Report referencing the scan's DICOM files "
                        "(the pacs extra; a DICOM scan only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load, encode, ask; print the answer as it streams (or one JSON object)."""
    from ..bundle import SLICE_SET, load_bundle
    from ..chat import open_session

    if args.task == "yes_no":
        question = Question.yes_no(args.disease)
    elif args.task == "open":
        question = Question.typed(args.question)  # "Write the findings." asks the report task
    else:
        question = Question(args.task, args.question, tuple(args.choices or ()))
    volume = load_volume(args.path, args.series)  # bad input fails before the model loads
    bundles = args.bundle or ["default"]
    if len(bundles) > 1:
        from .ask_compare import run_compare

        return run_compare(args, bundles, volume, question)
    bundle = load_bundle(bundles[0])
    slice_set = bundle.kind == SLICE_SET
    if args.slices is not None and not slice_set:
        print(f"ctchat: --slices is ignored: {bundle.name} is a native-3D model whose input is fixed by its recipe",
              file=sys.stderr)
    chat = open_session(bundle, device=args.device, scan_cache=scan_cache_from_env(not args.no_scan_cache),
                        slices=args.slices if slice_set else None)
    if slice_set:
        progress = None if args.json else EncodeProgress()
        try:  # the estimate only when the slices are encoded: a scan the cache answers waits for nothing
            encode = chat.load_scan(volume, on_progress=progress, on_encode=lambda: say_estimate(chat, volume))
        finally:  # Ctrl-C too: the next line (or the shell's prompt) starts on a line of its own
            if progress is not None:
                progress.finish()
    else:
        encode = chat.load_scan(volume)
    if chat.region.warns and not args.json:
        print(f"ctchat: warning: {chat.region.message}", file=sys.stderr)  # before any answer
    if args.save_model_input:
        from ..chat.model_input_files import save_model_input

        folder = save_model_input(chat, question, args.save_model_input)
        print(f"ctchat: the model's input for this question is in {folder}", file=sys.stderr)
    stream = None if args.json else (lambda piece: print(piece, end="", flush=True))
    answer = chat.ask(question, args.max_tokens, on_text=stream)
    relevance = relevance_fields(chat, answer) if args.relevance else {RELEVANCE_KEY: None}
    record = {
        "question": answer.question.shown,
        "task": answer.task,
        "answer": answer.text,
        "slice_scores": None if answer.slice_scores is None else {
            **answer.scores_record(),  # top_slices counted from 1 on the stored slices
            "model_slices": [round(float(s), 6) for s in answer.slice_scores],
        },
        **relevance,  # slice_relevance: occlusion's record (with --relevance), or null and why
        "sent_slices": sent_slices_record(chat) if slice_set else None,
        "timings_s": {**{f"encode_{k}": round(v, 4) for k, v in encode.items()},
                      **{k: round(v, 4) for k, v in answer.timings.items()}},
        "n_tokens": answer.n_tokens,
        "yes_probability": None if math.isnan(answer.yes_probability) else round(answer.yes_probability, 4),
        "choice": None if answer.choice is None else answer.choice.to_dict(),
        "notes": answer.notes,
        "region": chat.region.to_dict(),
        "scan_cache": "off" if chat.scan_cache is None else ("hit" if chat.from_cache else "miss"),
        "bundle": bundle.summary(),
        "providers": chat.providers,
        "llm_offload": chat.llm.offload.to_dict(),  # read back from llama.cpp's load
        "warnings": [w.message for w in volume.warnings],
    }
    if args.json:
        print(json.dumps(record, indent=2, allow_nan=False))  # NaN is not JSON: fail loudly rather than write it
    else:
        print()
        for note in answer.notes:
            if note != chat.region.message:  # that one was said before the answer
                print(f"[{note}]", file=sys.stderr)
        where = f"{answer.top_range()} scored highest" if answer.top_slices else answer.top_range()
        option = "" if answer.choice is None else f"option {answer.choice.letter} ({answer.choice.text}); "
        print(f"[{option}{where}; {how_made(answer)}; {bundle.name}"
              f"{'' if bundle.trained else ', UNTRAINED weights: answers are not meaningful'}]",
              file=sys.stderr)
        if args.relevance:
            print(relevance_line(relevance), file=sys.stderr)
    chat.close()
    if args.sr:  # after the answer is out: an SR that cannot be written loses no answer
        write_sr(args, record)
    return 0


def write_sr(args: argparse.Namespace, record: dict) -> None:
    """The answer as a DICOM SR (and nothing else changed): ``ctchat pacs sr``'s writer, fed the
    same record ``--json`` prints, referencing the scan's own DICOM files."""
    from ..pacs.source import read_source_series
    from ..pacs.sr_writer import write_answer_sr

    series = read_source_series(args.path, args.series)
    out = write_answer_sr(series, [record], record["bundle"], args.sr)
    print(f"ctchat: the answer is in the DICOM SR {out}", file=sys.stderr)


def sent_slices_record(chat: ChatSession) -> dict:
    """The stored slices a slice-set model was given, counted from 1 like every slice number
    ctchat prints (``slice_grid`` names the grid, as in the slice scores)."""
    return {"slice_grid": "stored", "n_slices": chat.model_input.n_stored,
            "slices": [k + 1 for k in chat.sent_slices]}


def say_estimate(chat: ChatSession, volume: Volume) -> None:
    """Before a slice-set encode starts, one stderr line on how long it will take (when that is
    worth saying), so a long wait on a CPU is expected rather than mistaken for a hang.

    A scan the recipe refuses (too few slices, not axial, not HU) is left to ``load_scan``'s
    sentence: no line about an encode that will not happen."""
    from ..slices.recipe import SliceRecipeError
    from ..slices.render import AXIAL_AXES, acquisition_axis

    if not volume.in_hu or acquisition_axis(volume) not in AXIAL_AXES:
        return
    try:
        n = len(chat.bundle.slice_recipe.sample(volume.as_stored().shape[0], chat.budget))
    except SliceRecipeError:
        return
    seconds = chat.estimate_seconds(volume)
    if seconds is None:
        print(f"ctchat: encoding {n} slices (first run on this machine: no estimate yet)", file=sys.stderr)
    elif seconds > ESTIMATE_WORTH_SAYING_S:
        print(f"ctchat: encoding {n} slices: about {duration(seconds)} on this machine (measured per slice)",
              file=sys.stderr)


def duration(seconds: float) -> str:
    """``"1 min 25 s"``, ``"40 s"``, ``"2 h 5 min"``: as a person says a wait."""
    total = int(round(seconds))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        minutes, secs = divmod(total, 60)
        return f"{minutes} min" + (f" {secs} s" if secs else "")
    hours, minutes = divmod(round(total / 60), 60)  # past an hour, seconds are noise
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


class EncodeProgress:
    """``on_progress(done, total)`` for a slice-set encode: one stderr line redrawn with ``\\r``
    on a terminal; elsewhere (a log) a line every few seconds, so the log does not fill up."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._live = sys.stderr.isatty()
        self._last = clock()
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        line = f"ctchat: encoded {done}/{total} slices"
        if self._live:
            sys.stderr.write("\r" + line)
            sys.stderr.flush()
            self._drawn = True
        elif done == total or self._clock() - self._last >= PROGRESS_LINE_EVERY_S:
            print(line, file=sys.stderr)
            self._last = self._clock()

    def finish(self) -> None:
        """End the redrawn line (nothing to end off a terminal or when nothing was encoded)."""
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()


def how_made(answer: Answer) -> str:
    """What is true of how the answer was made: a yes/no answer is read from the probability
    of its first word (P(yes) and the time); a generated one gives its tokens, and their rate
    once there are two to time it between (one token has no rate)."""
    seconds = f"{answer.timings['total']:.1f} s"
    if answer.task == "yes_no" and not math.isnan(answer.yes_probability):
        return f"P(yes) {answer.yes_probability:.2f}, {seconds}"
    if answer.n_tokens < 2:
        return f"{answer.n_tokens} token{'' if answer.n_tokens == 1 else 's'}, {seconds}"
    return f"{answer.n_tokens} tokens, {answer.timings['tokens_per_second']:.1f} tokens/s"
