"""``ctchat ask PATH "question"``: one answer about a scan, streamed, with its slice scores."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING

from ..io import load_volume
from ..question import Question

if TYPE_CHECKING:
    from ..chat.session import Answer


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ask`` sub-command."""
    p = subparsers.add_parser("ask", help="ask the model a question about a scan")
    p.add_argument("path", help="DICOM folder or file, or .nii/.nii.gz")
    p.add_argument("question", nargs="?", default="", help="the question (not needed for --task report/yes_no)")
    p.add_argument("--task", default="open", choices=["open", "report", "choice", "yes_no"])
    p.add_argument("--choices", nargs="+", help="choices for --task choice (A, B, C, ... in order)")
    p.add_argument("--disease", default="", help="for --task yes_no, e.g. 'emphysema'")
    p.add_argument("--series", help="series uid when the folder holds several")
    p.add_argument("--bundle", default="default", help="model bundle name or folder (default: default)")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--json", action="store_true", help="one JSON object: answer, slice scores, timings, bundle")
    p.add_argument("--no-scan-cache", action="store_true",
                   help="neither read nor keep the scan's encoding on disk (also: CTCHAT_SCAN_CACHE=0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load, encode, ask; print the answer as it streams (or one JSON object)."""
    from ..bundle import load_bundle
    from ..chat import ChatSession
    from ..chat.scan_cache import scan_cache_from_env

    if args.task == "yes_no":
        question = Question.yes_no(args.disease)
    elif args.task == "open":
        question = Question.typed(args.question)  # "Write the findings." asks the report task
    else:
        question = Question(args.task, args.question, tuple(args.choices or ()))
    volume = load_volume(args.path, args.series)  # bad input fails before the model loads
    bundle = load_bundle(args.bundle)
    chat = ChatSession(bundle, device=args.device, scan_cache=scan_cache_from_env(not args.no_scan_cache))
    encode = chat.load_scan(volume)
    if chat.region.warns and not args.json:
        print(f"ctchat: warning: {chat.region.message}", file=sys.stderr)  # before any answer
    stream = None if args.json else (lambda piece: print(piece, end="", flush=True))
    answer = chat.ask(question, args.max_tokens, on_text=stream)
    if args.json:
        print(json.dumps({
            "question": answer.question.shown,
            "task": answer.task,
            "answer": answer.text,
            "slice_scores": None if answer.slice_scores is None else {
                **answer.scores_record(),  # top_slices counted from 1 on the stored slices
                "model_slices": [round(float(s), 6) for s in answer.slice_scores],
            },
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
        }, indent=2, allow_nan=False))  # NaN is not JSON: fail loudly rather than write it
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
    chat.close()
    return 0


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
