"""``ctchat bundle``: build a bundle from a vision model, or verify one."""

from __future__ import annotations

import argparse

from ..bundle import load_bundle, write_bundle

UNTRAINED_NOTE = (
    "Vision weights are the architecture's seeded initialisation and the base LLM is not tuned: "
    "the image tokens carry no learned meaning and the answers are not meaningful. This bundle "
    "exercises the mechanism (encoding, TG-IS, image tokens in llama.cpp) until a trained one replaces it."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bundle build`` and ``bundle verify``."""
    p = subparsers.add_parser("bundle", help="build or verify a model bundle")
    sub = p.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="export a vision model and write a bundle with the default LLM")
    b.add_argument("--out", required=True, help="bundle folder to write")
    b.add_argument("--config", default="tiny", help="vision config preset (tiny, m3d, e3d_gpt)")
    b.add_argument("--checkpoint", help="trained vision weights (torch state dict); default: initial weights")
    b.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    b.add_argument("--name", default="ctchat-default")
    b.add_argument("--version", default="0.1.0")
    b.set_defaults(func=run_build)
    v = sub.add_parser("verify", help="check a bundle's files against its manifest (the LLM included)")
    v.add_argument("bundle", nargs="?", default="default")
    v.set_defaults(func=run_verify)


def run_build(args: argparse.Namespace) -> int:
    """Export the vision graphs and write the manifest."""
    import torch

    from ..vision.config import get_config
    from ..vision.vision_model import build_vision_model

    model = build_vision_model(get_config(args.config), seed=args.seed)
    trained = args.checkpoint is not None
    if trained:
        model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    training = {"trained": trained, "note": "" if trained else UNTRAINED_NOTE, "seed": args.seed}
    bundle = write_bundle(args.out, model, args.name, args.version, training)
    print(f"wrote {bundle.name} to {args.out} ({'trained' if trained else 'untrained weights, seed ' + str(args.seed)})")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Hash every file of a bundle, the LLM included."""
    bundle = load_bundle(args.bundle, verify_llm=True)
    print(f"{bundle.name}: all files match the manifest ({bundle.root})")
    return 0
