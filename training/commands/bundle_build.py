"""``ctchat bundle build``: export a vision model (initial or trained weights) as a bundle with
the default LLM; ``ctchat bundle int8``: add the checked int8 scan graph to any bundle folder
(a converted published model's included)."""

from __future__ import annotations

import argparse
import sys

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
    b.add_argument("--int8", action="store_true",
                   help="also write an int8 scan graph for the CPU, used only if it is within the stated "
                        "tolerance of fp32 on the demo CT (image tokens and answer logits)")
    b.set_defaults(func=run)
    q = actions.add_parser("int8", help="add an int8 scan graph for the CPU to a bundle folder, kept only "
                                        "within the stated tolerance of fp32 (image tokens and answer logits)")
    q.add_argument("bundle", help="bundle folder (the bundled default stays as shipped: copy it first)")
    q.add_argument("--scan", default=None, help="CT the tolerance is measured on (default: the demo CT)")
    q.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    q.set_defaults(func=run_int8)


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
    bundle = write_bundle(args.out, model, args.name, args.version, training, int8=args.int8)
    print(f"wrote {bundle.name} to {args.out} ({'trained' if trained else 'untrained weights, seed ' + str(args.seed)})")
    if args.int8:
        print(int8_summary(bundle.manifest["vision"]["scan_graph_int8"]))
    return 0


def int8_summary(record: dict) -> str:
    """One line on the int8 scan graph's acceptance: figures against the tolerance."""
    m, tol = record["measured"], record["tolerance"]
    verdict = "accepted, used on the CPU" if record["accepted"] else "rejected, not written"
    return (f"int8 scan graph {verdict}: image tokens relative RMS error "
            f"{max(m['image_tokens_rel_rms'].values()):.2%} (at most {tol['image_tokens_rel_rms']:.0%}), "
            f"first answer token KL {m['kl_nats']:.2g} nats (at most {tol['kl_nats']:g}), "
            f"same top token: {'yes' if m['same_top1'] else 'no'}")


def run_int8(args: argparse.Namespace) -> int:
    """Quantise the bundle's scan graph, measure it against fp32 and record the verdict."""
    from inference.bundle import load_bundle
    from inference.resources import resource_path
    from training.export.quantize import add_int8_graph

    root = load_bundle(args.bundle).root  # a damaged or missing bundle says so here
    if root.resolve().is_relative_to(resource_path("bundles").resolve()):  # a name resolves only there
        print(f"{args.bundle}: the bundled models stay as shipped; copy the bundle to a folder of your own "
              "and give that folder", file=sys.stderr)
        return 2
    record = add_int8_graph(root, args.scan, threads=args.threads)
    print(int8_summary(record))
    return 0 if record["accepted"] else 1
