"""``ctchat eval --bundle NAME``: the papers' metrics on held-out cases, with two baselines.

Columns: the bundle; the same bundle with its image tokens zeroed (what the image adds); and
the same architecture with its initial, untrained weights (what training adds).
"""

from __future__ import annotations

import argparse
import json
import tempfile

from ..resources import shared_ct_dir


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
    p.add_argument("--no-bertscore", action="store_true", help="skip BERTScore (slower on the CPU)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate the bundle and its baselines, print a table (or JSON)."""
    from ..bundle import load_bundle, write_bundle
    from ..chat import ChatSession
    from ..training.evaluate import (EVAL_SCANS, EVAL_SEED_BASE, PRESENCE_KINDS, TRAIN_SCANS, evaluate,
                                     only_kinds, synthetic_cases)
    from ..training.scoring import SIZE_TOLERANCE_MM
    from ..vision.config import VisionConfig
    from ..vision.vision_model import build_vision_model

    bundle = load_bundle(args.bundle)
    scans = EVAL_SCANS if args.scans == "held-out" else TRAIN_SCANS
    # insertions and crops always come from the evaluation seeds, which training never draws
    cases = list(synthetic_cases(shared_ct_dir(), scans, args.cases, EVAL_SEED_BASE, crops=not args.whole_scans))
    if args.kinds:
        cases = only_kinds(cases, tuple(k.strip() for k in args.kinds.split(",") if k.strip()))
    bertscore = not args.no_bertscore
    columns = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = VisionConfig.from_dict(bundle.manifest["vision"]["config"])
        untrained = write_bundle(tmp, build_vision_model(cfg, seed=bundle.manifest["training"].get("seed", 0)),
                                 "untrained", "0", {"trained": False, "note": "evaluation baseline"})
        runs = [("bundle", bundle, False), ("zeroed image", bundle, True), ("untrained perceiver", untrained, False)]
        for name, b, zero in runs:
            session = ChatSession(b, zero_image=zero)
            columns[name] = evaluate(session, cases, args.max_tokens, bertscore)
            session.close()
    if args.json:
        print(json.dumps({"bundle": bundle.summary(), "scans": args.scans, "scan_paths": list(scans),
                          "kinds": args.kinds or "all",
                          "random_fields_of_view": not args.whole_scans,
                          "results": columns}, indent=2))
        return 0
    what = "held-out cases" if args.scans == "held-out" else "cases with held-out insertions in the training scans"
    view = "whole scans" if args.whole_scans else "each a random field of view"
    asked = f"; questions: {args.kinds}" if args.kinds else ""
    print(f"{bundle.name} on {len(cases)} {what} ({', '.join(scans)}; {view}{asked}); "
          f"{'trained' if bundle.trained else 'UNTRAINED weights'}")
    rows = [("closed accuracy, macro", lambda r: r["closed_accuracy"]["macro"]),
            ("closed accuracy, micro", lambda r: r["closed_accuracy"]["micro"])]
    first = next(iter(columns.values()))
    counts = first["closed_n"]
    rows += [(f"  {kind} (n={n})", lambda r, k=kind: r["closed_accuracy"][k]) for kind, n in counts.items()]
    if "location" in counts:
        rows += [("    side right", lambda r: r["location_side"]),
                 ("    third right", lambda r: r["location_third"])]
    n_open = first.get("location_open_n", 0)
    if n_open:
        rows += [(f"  open location (n={n_open}): side", lambda r: r["location_open_side"]),
                 ("    third right", lambda r: r["location_open_third"]),
                 ("    names no place (missed)", lambda r: r["location_open_no_place"])]
    n_absent = first.get("location_absent_n", 0)
    if n_absent:
        rows.append((f"  no lesion: names no place (n={n_absent})", lambda r: r["location_absent_no_place"]))
    n_size = first.get("size_n", 0)
    if n_size:
        rows += [(f"  size within {SIZE_TOLERANCE_MM:.0f} mm (n={n_size})", lambda r: r["size_within_tolerance"]),
                 ("    median error, mm", lambda r: r["size_median_error_mm"])]
    n_phase = first.get("phase_open_n", 0)
    if n_phase:
        rows.append((f"  open phase (n={n_phase})", lambda r: r["phase_open"]))
    if first["yes_no"]["n"]:  # (not asked with --kinds that leave them out)
        rows += [("yes/no balanced accuracy", lambda r: r["yes_no"]["balanced_accuracy"]),
                 ("yes/no F1", lambda r: r["yes_no"]["f1"])]
    if any(kind in counts for kind in PRESENCE_KINDS):
        rows.append(("lesion presence ROC AUC", lambda r: r["presence_auc"]))
    rows += [("BLEU-1", lambda r: r["text"]["bleu1"]), ("ROUGE-1", lambda r: r["text"]["rouge1"]),
             ("METEOR (exact+stem)", lambda r: r["text"]["meteor"])]
    if bertscore:
        rows.append(("BERTScore F1 (MiniLM-L6)", lambda r: r["text"]["bertscore_f1"]))
    rows += [("TG-IS mass on lesion slices", lambda r: r["tgis_lesion_mass"]),
             ("  uniform would give", lambda r: r["tgis_uniform_mass"])]
    print(f"  {'metric':<30}" + "".join(f"{name:>22}" for name in columns))
    for label, get in rows:
        print(f"  {label:<30}" + "".join(f"{get(r):>22.3f}" for r in columns.values()))
    return 0
