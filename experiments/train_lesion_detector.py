"""Experiment: can the vision side alone learn where lesions are, in a way that carries to scans
it was not trained on? No LLM: the 3D encoder (and a linear head on its tokens) trains on the
dense lesion-token target (:func:`training.data.examples.lesion_token_target`, on the
ViT's own 8 x 8 x 8 grid), batches of 8, on the training scans' cases (random crops); presence
is scored as the largest token logit and reported as ROC AUC on held-out cases of the heart crop
(evaluation seeds) and on new insertions in the training scans (seeds from 500,000; ``--fresh``
draws training seeds from 0 upward, below 400,000).

``--evaluate RUN`` trains nothing: it scores the encoder and head of a ``ctchat pretrain
--objective lesion`` run folder on the same held-out sets.

Held-out cases are random fields of view of the heart crop (so its lesion-free cases are not one
image asked again).

``--in-plane N`` runs the tiny encoder on an N x N input instead of 64 x 64 (same patches,
same weights: the positions are sine-cosine, computed for the grid), to see what resolution buys.

Usage:
    .venv/bin/python experiments/train_lesion_detector.py --steps 3500 --init runs/align
    .venv/bin/python experiments/train_lesion_detector.py --steps 3500 --init runs/align --in-plane 128
    .venv/bin/python experiments/train_lesion_detector.py --evaluate runs/lesion --config tiny_conv
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from inference.resources import shared_ct_dir
from training.data.cases import EVAL_SEED_BASE, TRAIN_SCANS, synthetic_cases
from training.evaluation.metrics import roc_auc
from training.models.config import get_config
from training.models.inputs import recipe_for
from training.stages.lesion_pretrain import LesionPretrainer, collate, lesion_sample
from training.stages.trainer import CHECKPOINT

HEART = "nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz"


def lesion_stream(scans: tuple[str, ...], n: int, seed_base: int, crops: bool, recipe, grid) -> Iterator[tuple]:
    """Each case asked about lesions as a batch of one (:func:`lesion_sample`), the scans in turn."""
    streams = [synthetic_cases(shared_ct_dir(), (scan,), n, seed_base, crops=crops, lesion_free_parts=True)
               for scan in scans]
    for cases in zip(*streams):
        for case in cases:
            if case.lesion_known:  # (not a scan's real lesion: no ground truth for the tokens)
                yield lesion_sample(case, recipe, grid)


def lesion_cases(scans: tuple[str, ...], n: int, seed_base: int, crops: bool, recipe, grid) -> list:
    """:func:`lesion_stream` as a list."""
    return list(lesion_stream(scans, n, seed_base, crops, recipe, grid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3500)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--per-scan", type=int, default=512)
    parser.add_argument("--init", help="run folder whose vision weights to start from (e.g. runs/align)")
    parser.add_argument("--in-plane", type=int, default=64, help="model input height and width")
    parser.add_argument("--config", default="tiny", help="vision config preset (with --evaluate: the run's)")
    parser.add_argument("--evaluate", metavar="RUN", help="score a lesion-pretrained run folder instead of training")
    parser.add_argument("--stem", choices=("linear", "conv"),
                        help="3D ViT patch embedding: the papers' linear one or a convolutional stem (default: the config's)")
    parser.add_argument("--case-weight", type=float, default=0.0,
                        help="add the case-level loss on the largest token logit (ctchat pretrain --objective lesion: 1)")
    parser.add_argument("--fresh", action="store_true",
                        help="every batch new insertions and crops (no case seen twice) instead of --per-scan cases")
    args = parser.parse_args()
    torch.manual_seed(0)
    cfg = get_config(args.config)
    shape = (cfg.vit3d.input_shape[0], args.in_plane, args.in_plane)
    cfg = dataclasses.replace(cfg, vit3d=dataclasses.replace(
        cfg.vit3d, input_shape=shape, stem=args.stem or cfg.vit3d.stem))
    recipe, grid = recipe_for(cfg), cfg.vit3d.grid
    start = time.time()
    fresh = lesion_stream(TRAIN_SCANS, 400_000, 0, True, recipe, grid) if args.fresh else None
    train_set = [] if args.fresh or args.evaluate else lesion_cases(TRAIN_SCANS, args.per_scan, 0, True, recipe, grid)
    held_out = lesion_cases((HEART,), 64, EVAL_SEED_BASE, True, recipe, grid)
    new_insertions = lesion_cases(TRAIN_SCANS, 64, 500_000, True, recipe, grid)
    print(f"{len(train_set)} training cases ({time.time() - start:.0f} s)", flush=True)

    model = LesionPretrainer(cfg.vit3d, args.case_weight)
    if args.init:
        vision = torch.load(Path(args.init) / CHECKPOINT, map_location="cpu", weights_only=False)["vision"]
        weights = {k[len("scan.vit3d."):]: v for k, v in vision.items() if k.startswith("scan.vit3d.")}
        if cfg.vit3d.stem != "linear":  # the blocks only: the stem is new
            weights = {k: v for k, v in weights.items() if not k.startswith("patch_embed.")}
        model.encoder.load_state_dict(weights, strict=cfg.vit3d.stem == "linear")
    if args.evaluate:
        trainable = torch.load(Path(args.evaluate) / CHECKPOINT, map_location="cpu", weights_only=False)["trainable"]
        model.load_state_dict(trainable)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)

    def auc(cases: list) -> float:
        model.eval()
        with torch.no_grad():
            scores = [float(model.presence_scores(torch.as_tensor(x))) for x, _, _ in cases]
        model.train()
        return roc_auc(scores, [bool(present[0]) for _, _, present in cases])

    if args.evaluate:
        large = [c for c in held_out if not c[2][0] or c[1].sum() >= 4]
        print(f"{args.evaluate}: presence AUC held-out heart crop {auc(held_out):.3f} (lesions over >= 4 tokens "
              f"{auc(large):.3f}), new insertions in the training scans {auc(new_insertions):.3f}")
        return
    rng = np.random.default_rng(0)
    model.train()
    for step in range(1, args.steps + 1):
        if fresh is not None:
            batch = [next(fresh) for _ in range(8)]
        else:
            batch = [train_set[i] for i in rng.choice(len(train_set), 8, replace=False)]
        loss = model(collate(batch))  # dense token loss (+ the case-level term with --case-weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 250 == 0 or step == args.steps:
            print(f"step {step}: loss {loss.item():.3f}, presence AUC held-out heart crop {auc(held_out):.3f}, "
                  f"new insertions in the training scans {auc(new_insertions):.3f} ({time.time() - start:.0f} s)",
                  flush=True)


if __name__ == "__main__":
    main()
