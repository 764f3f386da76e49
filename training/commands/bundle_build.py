"""``ctchat bundle build``: export a vision model (initial or trained weights) as a bundle with
the default LLM; ``ctchat bundle int8`` / ``fp16``: add a checked reduced-precision scan graph
(int8 for the CPU, fp16 for CUDA) to any bundle folder (a converted published model's included)."""

from __future__ import annotations

import argparse
import sys

UNTRAINED_NOTE = (
    "Vision weights are the architecture's seeded initialisation and the base LLM is not tuned: "
    "the image tokens carry no learned meaning and the answers are not meaningful. This bundle "
    "exercises the mechanism (encoding, TG-IS, image tokens in llama.cpp) until a trained one replaces it."
)
VARIANT_HELP = {
    "int8": "add an int8 scan graph for the CPU to a bundle folder",
    "fp16": "add an fp16 scan graph for CUDA to a bundle folder",
}


def register(actions: argparse._SubParsersAction) -> None:
    """Add the ``build``, ``int8`` and ``fp16`` actions to ``ctchat bundle``."""
    b = actions.add_parser("build", help="export a vision model and write a bundle with the default LLM")
    b.add_argument("--out", required=True, help="bundle folder to write")
    b.add_argument("--config", default="tiny", help="vision config preset (tiny, tiny_conv, tiny_loc, m3d, e3d_gpt)")
    b.add_argument("--checkpoint", help="trained vision weights (torch state dict); default: initial weights")
    b.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    b.add_argument("--name", default="ctchat-default")
    b.add_argument("--version", default="0.1.0")
    b.add_argument("--int8", action="store_true",
                   help="also write an int8 scan graph for the CPU, used only if it is within the stated "
                        "tolerance of fp32 on the demo CT (image tokens and answer logits)")
    b.set_defaults(func=run)
    for kind, text in VARIANT_HELP.items():
        q = actions.add_parser(kind, help=f"{text}, kept only within the stated tolerance of fp32 "
                                          "(image tokens and answer logits)")
        q.add_argument("bundle", help="bundle folder (the bundled default stays as shipped: copy it first)")
        q.add_argument("--scan", default=None, help="CT the tolerance is measured on (default: the demo CT)")
        q.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
        q.set_defaults(func=run_variant, kind=kind)


def run(args: argparse.Namespace) -> int:
    """Export the vision graphs and write the manifest."""
    import torch

    from training.export.bundle_writer import write_bundle
    from training.export.scan_variants import VARIANTS, variant_summary
    from training.models.config import get_config
    from training.models.vision_model import build_vision_model

    model = build_vision_model(get_config(args.config), seed=args.seed)
    trained = args.checkpoint is not None
    if trained:
        model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    training = {"trained": trained, "note": "" if trained else UNTRAINED_NOTE, "seed": args.seed}
    bundle = write_bundle(args.out, model, args.name, args.version, training, int8=args.int8)
    print(f"wrote {bundle.name} to {args.out} ({'trained' if trained else 'untrained weights, seed ' + str(args.seed)})")
    if args.int8:
        print(variant_summary("int8", bundle.manifest["vision"][VARIANTS["int8"].key]))
    return 0


def run_variant(args: argparse.Namespace) -> int:
    """Make the bundle's int8 or fp16 scan graph, measure it against fp32 and record the verdict."""
    from inference.bundle import load_bundle
    from inference.resources import resource_path
    from training.export.scan_variants import add_scan_variant, variant_summary

    root = load_bundle(args.bundle).root  # a damaged or missing bundle says so here
    if root.resolve().is_relative_to(resource_path("bundles").resolve()):  # a name resolves only there
        print(f"{args.bundle}: the bundled models stay as shipped; copy the bundle to a folder of your own "
              "and give that folder", file=sys.stderr)
        return 2
    record = add_scan_variant(root, args.kind, args.scan, threads=args.threads)
    print(variant_summary(args.kind, record))
    return 0 if record["accepted"] else 1
