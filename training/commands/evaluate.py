"""``ctchat eval --bundle NAME``: the papers' metrics on held-out cases, with two baselines.

Columns: the bundle; the same bundle with its image tokens zeroed (what the image adds); and
the same architecture with its initial, untrained weights (what training adds).

``ctchat eval --dataset m3d-vqa|m3d-cap|ct-rate PATH``: a published benchmark on disk, answered
through ``ctchat batch`` and scored as its paper scores it
(:mod:`training.evaluation.datasets_eval`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

from inference.resources import shared_ct_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` sub-command."""
    p = subparsers.add_parser("eval", help="metrics of a bundle on held-out cases, against baselines")
    p.add_argument("--bundle", default="default")
    p.add_argument("--cases", type=int, default=16,
                   help="cases per held-out scan (half with a lesion where lesions are asked about)")
    p.add_argument("--scans", choices=["held-out", "training"], default="held-out",
                   help="held-out scans (the evaluation), or the training scans with insertions never "
                        "trained on (tells new lesions apart from new scans)")
    p.add_argument("--whole-scans", action="store_true",
                   help="every case the whole scan, not a random field of view of it (the lesion-free cases "
                        "of a scan are then one image, asked again)")
    p.add_argument("--kinds", help="only these question kinds, comma-separated (e.g. location: the location "
                   "questions, two per lesion case and one per lesion-free case, so --cases can be larger in the same time)")
    p.add_argument("--max-tokens", type=int, default=40)
    p.add_argument("--slices", type=int, metavar="N", help="slice-set bundles: send at most N slices per case")
    p.add_argument("--no-bertscore", action="store_true", help="skip BERTScore (slower on the CPU)")
    p.add_argument("--question-dependence", action="store_true",
                   help="also how much the bundle's slice strips (TG-IS, occlusion) change with the question on "
                        "the same scan: mean Pearson r between question kinds (one relevance pass per answer)")
    p.add_argument("--json", action="store_true")
    p.add_argument("path", nargs="?", help="with --dataset: M3D-VQA's CSV, M3D-Cap's JSON, or CT-RATE's folder")
    p.add_argument("--dataset", choices=["m3d-vqa", "m3d-cap", "ct-rate"], help="a published benchmark at PATH")
    p.add_argument("--split", default="test", help="M3D-Cap's split (default: test)")
    p.add_argument("--open", action="store_true", help="M3D-VQA's open questions rather than the closed ones")
    p.add_argument("--out", help="with --dataset: the table as CSV (default: eval_<dataset>.csv); the "
                   "answers go beside it in <name>_answers/ and a rerun resumes them")
    p.add_argument("--workers", type=int, default=1, help="with --dataset: processes, one model each")
    p.add_argument("--ray", metavar="ADDRESS", help="with --dataset: run the answers on a Ray cluster")
    p.set_defaults(func=run)


def run_dataset(args: argparse.Namespace) -> int:
    """A published benchmark through ``ctchat batch``: the table printed and written as CSV."""
    from pathlib import Path

    from inference.batch.runner import RunSettings
    from training.data.datasets import DatasetError
    from training.evaluation.datasets_eval import answer_samples, print_table, read_dataset, score, write_csv

    if not args.path:
        print("ctchat: --dataset needs the dataset's PATH", file=sys.stderr)
        return 2
    try:
        samples = read_dataset(args.dataset, Path(args.path), args.split, closed=not args.open)
    except DatasetError as exc:
        print(f"ctchat: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out or f"eval_{args.dataset}.csv")
    work = out.with_name(out.stem + "_answers")
    work.mkdir(parents=True, exist_ok=True)
    settings = RunSettings(args.bundle, max_tokens=args.max_tokens, slices=args.slices)
    by_row = answer_samples(samples, work, settings, args.workers, args.ray)
    rows = score(samples, by_row, bertscore=not args.no_bertscore)
    print_table(f"{args.bundle} on {args.dataset} ({len(samples)} questions, {args.path})", rows)
    write_csv(rows, out, args.dataset, args.bundle)
    print(f"\nctchat: table in {out}, answers in {work / 'results.jsonl'}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    """Evaluate the bundle and its baselines, print a table (or JSON); or a published dataset."""
    if args.dataset:
        return run_dataset(args)
    from inference.bundle import SLICE_SET, load_bundle
    from inference.chat import open_session
    from training.data.cases import EVAL_SCANS, EVAL_SEED_BASE, TRAIN_SCANS, synthetic_cases
    from training.evaluation.evaluate import evaluate, only_kinds
    from training.evaluation.question_dependence import QuestionDependence, report_lines
    from training.evaluation.scoring import Scorecard

    bundle = load_bundle(args.bundle)
    scans = EVAL_SCANS if args.scans == "held-out" else TRAIN_SCANS
    # insertions and crops always come from the evaluation seeds, which training never draws
    cases = list(synthetic_cases(shared_ct_dir(), scans, args.cases, EVAL_SEED_BASE, crops=not args.whole_scans))
    if args.kinds:
        cases = only_kinds(cases, tuple(k.strip() for k in args.kinds.split(",") if k.strip()))
    bertscore = not args.no_bertscore
    dependence = QuestionDependence() if args.question_dependence else None  # of the bundle's own column
    columns: dict[str, dict] = {}
    if bundle.kind == SLICE_SET:
        # both baselines are native-3D ones: zeroed 3D image tokens, and an untrained perceiver
        print(f"ctchat: {bundle.name} is a slice-set model: the zeroed-image and untrained-perceiver baselines "
              "exist only for native-3D bundles, so only the bundle itself is evaluated", file=sys.stderr)
        session = open_session(bundle, slices=args.slices)
        columns["bundle"] = evaluate(session, cases, args.max_tokens, bertscore, dependence)
        session.close()
    else:
        columns = evaluate_with_baselines(bundle, cases, args.max_tokens, bertscore, dependence)
    figures = None if dependence is None else dependence.summary()
    if args.json:
        print(json.dumps({"bundle": bundle.summary(), "scans": args.scans, "scan_paths": list(scans),
                          "kinds": args.kinds or "all",
                          "random_fields_of_view": not args.whole_scans,
                          "results": columns, "question_dependence": figures}, indent=2))
        return 0
    what = "held-out cases" if args.scans == "held-out" else "cases with held-out insertions in the training scans"
    view = "whole scans" if args.whole_scans else "each a random field of view"
    asked = f"; questions: {args.kinds}" if args.kinds else ""
    print(f"{bundle.name} on {len(cases)} {what} ({', '.join(scans)}; {view}{asked}); "
          f"{'trained' if bundle.trained else 'UNTRAINED weights'}")
    rows = Scorecard().rows(next(iter(columns.values())), bertscore)
    print(f"  {'metric':<30}" + "".join(f"{name:>22}" for name in columns))
    for label, get in rows:
        print(f"  {label:<30}" + "".join(f"{get(r):>22.3f}" for r in columns.values()))
    if figures is not None:
        print("\n".join(report_lines(figures)))
    return 0


def evaluate_with_baselines(bundle, cases: list, max_tokens: int, bertscore: bool,
                            dependence=None) -> dict[str, dict]:
    """A native-3D bundle's column and its two baselines: its image tokens zeroed (what the
    image adds) and the same architecture untrained (what training adds); ``dependence``
    (:class:`~training.evaluation.question_dependence.QuestionDependence`) collects the
    bundle's own strips only (a baseline's say nothing about the bundle)."""
    from inference.chat import ChatSession, open_session
    from training.evaluation.evaluate import evaluate
    from training.export.bundle_writer import write_bundle
    from training.models.config import VisionConfig
    from training.models.vision_model import build_vision_model

    columns = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = VisionConfig.from_dict(bundle.manifest["vision"]["config"])
        untrained = write_bundle(tmp, build_vision_model(cfg, seed=bundle.manifest["training"].get("seed", 0)),
                                 "untrained", "0", {"trained": False, "note": "evaluation baseline"})
        runs = [("bundle", bundle, False), ("zeroed image", bundle, True), ("untrained perceiver", untrained, False)]
        for name, b, zero in runs:
            # zero_image is a switch of the native-3D session alone, which open_session does not take
            session = ChatSession(b, zero_image=True) if zero else open_session(b)
            columns[name] = evaluate(session, cases, max_tokens, bertscore, dependence if name == "bundle" else None)
            session.close()
    return columns
