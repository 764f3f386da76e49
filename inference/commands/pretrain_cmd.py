"""``ctchat pretrain``: 3D MAE pretraining of the scan encoder's ViT (E3D-GPT's first stage).

Trains on the training scans (with and without synthetic lesions, from the training seed range)
and the other real scans that are not held out; the evaluation scans are never seen. Pass the
run folder to ``ctchat train --mae RUN`` to start the next stage from this encoder.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pretrain`` sub-command."""
    p = subparsers.add_parser("pretrain", help="3D MAE pretraining of the vision encoder")
    p.add_argument("--out", required=True, help="run folder (checkpoints; an interrupted run resumes)")
    p.add_argument("--config", default="tiny", help="vision config preset")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1.5e-4, help="default: MAE's base rate 1.5e-4")
    p.add_argument("--per-scan", type=int, default=8, help="synthetic cases per training scan")
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Preprocess the volumes, pretrain, record the stage."""
    from ..io import load_volume
    from ..preprocess import preprocess
    from ..resources import shared_ct_dir
    from ..training.evaluate import EVAL_SCANS, TRAIN_SCANS, synthetic_cases
    from ..training.pretrain import PRETRAIN_EXTRA_SCANS, SMALL_DECODER, MAEPretrainer
    from ..training.trainer import TrainConfig, train, write_stages
    from ..vision.config import get_config
    from ..vision.inputs import recipe_for

    if set(EVAL_SCANS) & set(TRAIN_SCANS + PRETRAIN_EXTRA_SCANS):
        raise SystemExit("ctchat pretrain: an evaluation scan is among the pretraining scans")
    cfg = get_config(args.config)
    recipe, ct = recipe_for(cfg), shared_ct_dir()
    cases = synthetic_cases(ct, TRAIN_SCANS, args.per_scan, seed_base=args.seed * 10_000, crops=True)
    volumes = [preprocess(c.volume, recipe).array for c in cases]  # each case its own crop
    volumes += [preprocess(load_volume(ct / rel), recipe).array for rel in PRETRAIN_EXTRA_SCANS]
    print(f"{len(volumes)} volumes from {', '.join(TRAIN_SCANS + PRETRAIN_EXTRA_SCANS)}")

    out = Path(args.out)
    model = MAEPretrainer(cfg.vit3d, SMALL_DECODER, seed=args.seed)
    losses = train(model, volumes, TrainConfig("mae", args.steps, args.lr, out, args.checkpoint_every, args.seed))
    if losses:
        n = max(len(losses) // 10, 1)
        print(f"stage mae: {len(losses)} steps, mean loss of the first {n} {sum(losses[:n]) / n:.3f} "
              f"-> last {n} {sum(losses[-n:]) / n:.3f}")
    write_stages(out, [{"stage": "mae", "steps": args.steps, "learning_rate": args.lr, "volumes": len(volumes),
                        "mask_ratio": SMALL_DECODER.mask_ratio, "seed": args.seed}])
    return 0
