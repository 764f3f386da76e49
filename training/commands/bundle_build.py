"""``ctchat bundle build``: export a vision model (initial or trained weights) as a bundle with
the default LLM."""

from __future__ import annotations

import argparse

UNTRAINED_NOTE = (
    "Vision weights are the architecture's seeded initialisation and the base LLM is not tuned: "
    "the image tokens carry no learned meaning and the answers are not meaningful. This bundle "
    "exercises the mechanism (encoding, TG-IS, image tokens in llama.cpp) until a trained one replaces it."
)


def register(actions: argparse._SubParsersAction) -> None:
    """Add the ``build`` action to ``ctchat bundle``."""
    b = actions.add_parser("build", help="export a vision model and write a bundle with the default LLM")
    b.add_argument("--out", required=True, help="bundle folder to write")
    b.add_argument("--config", default="tiny", help="vision config preset (tiny, tiny_conv, tiny_loc, m3d, e3d_gpt)")
    b.add_argument("--checkpoint", help="trained vision weights (torch state dict); default: initial weights")
    b.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    b.add_argument("--name", default="ctchat-default")
    b.add_argument("--version", default="0.1.0")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export the vision graphs and write the manifest."""
    import torch

    from training.export.bundle_writer import write_bundle
    from training.models.config import get_config
    from training.models.vision_model import build_vision_model

    model = build_vision_model(get_config(args.config), seed=args.seed)
    trained = args.checkpoint is not None
    if trained:
        model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    training = {"trained": trained, "note": "" if trained else UNTRAINED_NOTE, "seed": args.seed}
    bundle = write_bundle(args.out, model, args.name, args.version, training)
    print(f"wrote {bundle.name} to {args.out} ({'trained' if trained else 'untrained weights, seed ' + str(args.seed)})")
    return 0
