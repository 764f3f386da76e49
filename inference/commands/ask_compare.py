"""``ctchat ask SCAN "question" --bundle A --bundle B ...``: one question, several models, side
by side (:mod:`inference.chat.compare`): each model's answer as it comes, then ``--compare-out``
writes them together (CSV, the strips' per-slice values, an HTML page); ``--json`` prints one
list with a record per model."""

from __future__ import annotations

import argparse
import json
import sys

from ..io.volume import Volume
from ..question import Question


def run_compare(args: argparse.Namespace, bundles: list[str], volume: Volume, question: Question) -> int:
    """Ask each bundle in turn; print and (with ``--compare-out``) write the results."""
    from ..chat.compare import ask_models, write_comparison
    from ..chat.scan_cache import scan_cache_from_env
    from ..io import scan_identity

    if args.save_model_input or args.sr:
        print("ctchat: --save-model-input and --sr take one --bundle at a time", file=sys.stderr)
        return 2

    def announce(name: str) -> None:
        if not args.json:
            print(f"== {name}", file=sys.stderr, flush=True)

    results = ask_models(bundles, volume, question, max_tokens=args.max_tokens, relevance=args.relevance,
                         slices=args.slices, device=args.device,
                         scan_cache=scan_cache_from_env(not args.no_scan_cache), on_model=announce)
    scan_id = scan_identity(volume)
    if args.json:
        print(json.dumps([{**r.row(scan_id), "slice_relevance": r.relevance.record() if r.relevance else None,
                           "slice_relevance_reason": r.relevance_note or None} for r in results],
                         indent=2, allow_nan=False))
    else:
        for r in results:
            print(f"{r.bundle}: {r.answer.text if r.answer else '(no answer) ' + r.error}")
            for note in (r.answer.notes if r.answer else []):
                print(f"  [{note}]", file=sys.stderr)
    if args.compare_out:
        paths = write_comparison(results, args.compare_out, scan_id)
        print(f"ctchat: the comparison is in {paths[2].parent} ({', '.join(p.name for p in paths)})", file=sys.stderr)
    return 0 if any(r.answer is not None for r in results) else 1
