"""``ctchat pretrain``: pretraining of the scan encoder's 3D ViT.

* ``--objective mae`` (default; E3D-GPT's first stage): 3D masked autoencoding on the training
  scans (with and without synthetic lesions, from the training seed range) and the other real
  scans that are not held out; the evaluation scans are never seen.
* ``--objective lesion`` (our addition): where synthetic lesions are, token by token, on new
  insertions and crops of the training scans' lesion-free lungs in every batch
  (:mod:`training.stages.lesion_pretrain`); ``--mae RUN`` starts it from an MAE encoder.

Pass the run folder to ``ctchat train --mae RUN`` to start the next stage from this encoder.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pretrain`` sub-command."""
    p = subparsers.add_parser("pretrain", help="pretraining of the 3D vision encoder (MAE, or lesion detection)")
    p.add_argument("--out", required=True, help="run folder (checkpoints; an interrupted run resumes)")
    p.add_argument("--objective", choices=("mae", "lesion"), default="mae")
    p.add_argument("--config", default="tiny", help="vision config preset")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, help="default: MAE's base rate 1.5e-4; 5e-4 for lesion")
    p.add_argument("--per-scan", type=int, default=8, help="MAE: synthetic cases per training scan")
    p.add_argument("--batch-size", type=int, default=8, help="lesion: new cases per step")
    p.add_argument("--case-weight", type=float, default=1.0,
                   help="lesion: weight of the case-level presence loss beside the dense token loss")
    p.add_argument("--mae", help="lesion: run folder of an MAE pretraining whose encoder to start from")
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the data, pretrain, record the stage."""
    from training.data.cases import EVAL_SCANS, TRAIN_SCANS
    from training.models.config import get_config
    from training.stages.pretrain import PRETRAIN_EXTRA_SCANS
    from training.stages.trainer import TrainConfig, read_stages, train, write_stages

    if set(EVAL_SCANS) & set(TRAIN_SCANS + PRETRAIN_EXTRA_SCANS):
        raise SystemExit("ctchat pretrain: an evaluation scan is among the pretraining scans")
    if args.mae and args.objective != "lesion":
        raise SystemExit("ctchat pretrain: --mae starts a lesion pretraining from an MAE run")
    cfg = get_config(args.config)
    model, data, record = (_lesion if args.objective == "lesion" else _mae)(args, cfg)
    lr = args.lr if args.lr is not None else (5e-4 if args.objective == "lesion" else 1.5e-4)
    out = Path(args.out)
    losses = train(model, data, TrainConfig(args.objective, args.steps, lr, out, args.checkpoint_every, args.seed))
    if losses:
        n = max(len(losses) // 10, 1)
        print(f"stage {args.objective}: {len(losses)} steps, mean loss of the first {n} {sum(losses[:n]) / n:.3f} "
              f"-> last {n} {sum(losses[-n:]) / n:.3f}")
    earlier = read_stages(args.mae) if args.mae else []
    write_stages(out, [*earlier, {"stage": args.objective, "steps": args.steps, "learning_rate": lr,
                                  "config": args.config, "seed": args.seed, **record}])
    return 0


def _mae(args: argparse.Namespace, cfg) -> tuple:
    """The MAE model and its volumes: each training case its own crop, and the extra scans."""
    from inference.io import load_volume
    from inference.preprocess import preprocess
    from inference.resources import shared_ct_dir
    from training.data.cases import TRAIN_SCANS, synthetic_cases
    from training.models.inputs import recipe_for
    from training.stages.pretrain import PRETRAIN_EXTRA_SCANS, SMALL_DECODER, MAEPretrainer

    recipe, ct = recipe_for(cfg), shared_ct_dir()
    cases = synthetic_cases(ct, TRAIN_SCANS, args.per_scan, seed_base=args.seed * 10_000, crops=True)
    volumes = [preprocess(c.volume, recipe).array for c in cases]
    volumes += [preprocess(load_volume(ct / rel), recipe).array for rel in PRETRAIN_EXTRA_SCANS]
    print(f"{len(volumes)} volumes from {', '.join(TRAIN_SCANS + PRETRAIN_EXTRA_SCANS)}")
    model = MAEPretrainer(cfg.vit3d, SMALL_DECODER, seed=args.seed)
    return model, volumes, {"volumes": len(volumes), "mask_ratio": SMALL_DECODER.mask_ratio}


def _lesion(args: argparse.Namespace, cfg) -> tuple:
    """The lesion model (from the MAE encoder with ``--mae``) and its stream of new batches."""
    from inference.resources import shared_ct_dir
    from training.data.cases import TRAIN_SCANS, ScanCases
    from training.models.inputs import recipe_for
    from training.stages.lesion_pretrain import FreshLesionBatches, LesionPretrainer, load_encoder

    sources = [ScanCases(shared_ct_dir(), rel, lesion_free_parts=True) for rel in TRAIN_SCANS]
    # a distinct part of the training seed range for each --seed (below the held-out seeds)
    batches = FreshLesionBatches(sources, recipe_for(cfg), cfg.vit3d.grid, args.steps, args.batch_size,
                                 seed_base=args.seed * 100_000)
    print(f"{args.steps} batches of {args.batch_size} new cases from {', '.join(TRAIN_SCANS)} "
          "(A0001 below its tumour)")
    model = LesionPretrainer(cfg.vit3d, args.case_weight)
    if args.mae:
        model.encoder.load_state_dict(load_encoder(args.mae))
        print(f"3D encoder from the MAE pretraining in {args.mae}")
    return model, batches, {"cases": args.steps * args.batch_size, "batch_size": args.batch_size,
                            "case_loss_weight": args.case_weight, "lesion_free_parts": True,
                            "every_case_new": True}
