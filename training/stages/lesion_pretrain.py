"""Supervised pretraining of the 3D encoder on where synthetic lesions are (our addition to the
papers' recipes, possible because the synthetic set knows each lesion's position and size).

A fixed set of cases is learnt by heart before lesions are (measured with
``experiments/train_lesion_detector.py``), so every batch here is new: :class:`FreshLesionBatches`
draws new insertions and new random crops for each step, and no case is seen twice. The loss is
the dense lesion-token loss (each token: does its part of the input hold the lesion) plus a
case-level term on the largest token logit (is there a lesion at all), the score presence is
read from, so that no token of a lesion-free scan is left looking like one.

Example:
    >>> from training.models.config import get_config
    >>> pre = LesionPretrainer(get_config("tiny").vit3d)
    >>> params = pre.configure_stage("lesion")
    >>> x = np.zeros((2, 1, 32, 64, 64), np.float32)
    >>> targets = np.zeros((2, 512), np.float32); targets[0, 7] = 1
    >>> float(pre((x, targets, np.array([True, False])))) > 0
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inference.preprocess import PreprocessRecipe, preprocess
from training.data.cases import EVAL_SEED_BASE, Case, ScanCases
from training.data.examples import lesion_token_target
from training.models.config import ViT3DConfig
from training.models.multimodal import lesion_token_loss
from training.models.vit3d import ViT3D

LesionBatch = tuple[np.ndarray, np.ndarray, np.ndarray]  # inputs (B,1,D,H,W), token targets (B,N), present (B,)


class FreshLesionBatches(Sequence):
    """``len`` batches of ``batch_size`` new cases each: batch ``i`` holds cases ``i * batch_size``
    onwards, taken from the scans in turn, each with its own insertion seed and random crop; half
    hold a lesion. Built on demand (about 30 ms a case on one core), so nothing is stored.

    Example:
        >>> sources = [ScanCases(shared_ct_dir(), rel, lesion_free_parts=True) for rel in TRAIN_SCANS]  # doctest: +SKIP
        >>> x, targets, present = FreshLesionBatches(sources, recipe, (8, 8, 8), 1000)[0]                # doctest: +SKIP
    """

    def __init__(self, sources: list[ScanCases], recipe: PreprocessRecipe, grid: tuple[int, int, int],
                 length: int, batch_size: int = 8, seed_base: int = 0) -> None:
        if not sources or not all(s.about_lesions for s in sources):
            raise ValueError("every scan of a lesion batch must take inserted lesions (no known real one)")
        per_source = -(-length * batch_size // len(sources))
        if seed_base + per_source + 1 > EVAL_SEED_BASE:
            raise ValueError(f"{length} batches would reach the held-out insertion seeds ({EVAL_SEED_BASE})")
        self.sources, self.recipe, self.grid = sources, recipe, grid
        self.length, self.batch_size, self.seed_base = length, batch_size, seed_base

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> LesionBatch:
        if not 0 <= i < self.length:
            raise IndexError(i)
        samples = []
        for k in range(i * self.batch_size, (i + 1) * self.batch_size):
            source, n = self.sources[k % len(self.sources)], 1 + k // len(self.sources)  # (n 0: a real lesion)
            samples.append(lesion_sample(source.case(n, self.seed_base + n, crops=True), self.recipe, self.grid))
        return collate(samples)


def lesion_sample(case: Case, recipe: PreprocessRecipe, grid: tuple[int, int, int]) -> LesionBatch:
    """One case as a batch of one: its model input ``(1, 1, D, H, W)``, its token target
    ``(1, N)`` on ``grid`` and whether it holds a lesion ``(1,)``."""
    prepared = preprocess(case.volume, recipe)
    target = lesion_token_target(prepared, case.volume.spacing_zyx, case.lesion, grid)
    return prepared.array, target[None], np.array([case.lesion is not None])


def collate(samples: list[LesionBatch]) -> LesionBatch:
    """Batches (of one case or more) joined into one."""
    inputs, targets, present = zip(*samples)
    return np.concatenate(inputs), np.concatenate(targets), np.concatenate(present)


class LesionPretrainer(nn.Module):
    """The 3D ViT and a linear head on its tokens; ``forward(batch)`` returns the dense
    lesion-token loss plus ``case_weight`` x the binary cross-entropy of each case's largest
    token logit against whether it holds a lesion."""

    def __init__(self, vit: ViT3DConfig, case_weight: float = 1.0) -> None:
        super().__init__()
        self.encoder = ViT3D(vit)
        self.head = nn.Linear(vit.width, 1)
        self.case_weight = case_weight

    def configure_stage(self, stage: str) -> list[nn.Parameter]:
        """Everything trains; the only stage is ``"lesion"``."""
        if stage != "lesion":
            raise ValueError(f"lesion pretraining has one stage, 'lesion', not {stage!r}")
        for p in self.parameters():
            p.requires_grad_(True)
        return list(self.parameters())

    def token_logits(self, volume: torch.Tensor) -> torch.Tensor:
        """``(B, N)``: per-token lesion logits."""
        return self.head(self.encoder(volume))[..., 0]

    def presence_scores(self, volume: torch.Tensor) -> torch.Tensor:
        """``(B,)``: each case's largest token logit."""
        return self.token_logits(volume).amax(dim=1)

    def forward(self, batch: LesionBatch) -> torch.Tensor:
        device = self.head.weight.device
        inputs, targets, present = batch
        logits = self.token_logits(torch.as_tensor(inputs, device=device))
        dense = torch.stack([lesion_token_loss(lg, t) for lg, t in zip(logits, targets)]).mean()
        y = torch.as_tensor(present, dtype=logits.dtype, device=device)
        return dense + self.case_weight * F.binary_cross_entropy_with_logits(logits.amax(dim=1), y)


def load_encoder(run_dir: str | Path) -> dict[str, torch.Tensor]:
    """The pretrained 3D encoder of a ``ctchat pretrain`` run folder (either objective)."""
    from training.stages.pretrain import encoder_state
    from training.stages.trainer import CHECKPOINT

    return encoder_state(torch.load(Path(run_dir) / CHECKPOINT, map_location="cpu", weights_only=False)["trainable"])
