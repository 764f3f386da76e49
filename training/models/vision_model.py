"""The vision model split the way it runs: a scan part (once per scan) and a question part.

* :class:`ScanEncoder`: ``volume`` -> ``image_tokens_3d``, ``slice_tokens_2d``, ``slice_features``.
* :class:`TGISHead` (in :mod:`.tgis`): those + ``text_vector`` -> ``slice_scores``, ``image_tokens``.
* :class:`VisionModel`: both, end to end (training and reference outputs).
"""

from __future__ import annotations

import torch
from torch import nn

from training.models.config import VisionConfig
from training.models.perceivers import LocationCodes, build_perceiver
from training.models.slice_encoder import SliceEncoder
from training.models.tgis import TGISHead, slice_features
from training.models.vit3d import ViT3D


class ScanEncoder(nn.Module):
    """3D ViT + perceiver and 2D slice encoder; everything that depends only on the scan.

    Example:
        >>> import torch
        >>> from training.models.config import get_config
        >>> enc = ScanEncoder(get_config("tiny")).eval()
        >>> [t.shape for t in enc(torch.zeros(1, 1, 32, 64, 64))]
        [torch.Size([1, 64, 640]), torch.Size([1, 32, 16, 640]), torch.Size([1, 32, 640])]
    """

    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.vit3d = ViT3D(cfg.vit3d)
        self.perceiver = build_perceiver(cfg)
        # (the config allows codes only on perceivers whose tokens keep the grid)
        self.location = LocationCodes(cfg.perceiver_grid, cfg.hidden) if cfg.perceiver.location_codes else None
        self.slice_encoder = SliceEncoder(cfg.slice_encoder, cfg.hidden)
        # the mixer's low-level stream reads the middle block's output
        self._low_layer = cfg.vit3d.depth // 2 - 1 if cfg.perceiver.kind == "mixer" else None

    def forward(self, volume: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tokens_3d, tokens_2d, features, _ = self.encode(volume)
        return tokens_3d, tokens_2d, features

    def encode(self, volume: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """:meth:`forward`'s outputs and the per-token lesion logits of the location codes
        (``None`` without them), which training needs."""
        if self._low_layer is None:
            tokens, low = self.vit3d(volume), None
        else:
            tokens, low = self.vit3d(volume, return_layer=max(self._low_layer, 0))
        grid_tokens = self.perceiver(tokens, low)
        tokens_3d, lesion_logits = grid_tokens, None
        if self.location is not None:
            tokens_3d, lesion_logits = self.location(grid_tokens)
        tokens_2d = self.slice_encoder(volume)
        return tokens_3d, tokens_2d, slice_features(grid_tokens, tokens_2d, self.cfg.perceiver_grid), lesion_logits


class VisionModel(nn.Module):
    """Scan encoder + TG-IS head: ``(volume, text_vector)`` -> ``(slice_scores, image_tokens)``."""

    def __init__(self, cfg: VisionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.scan = ScanEncoder(cfg)
        self.question = TGISHead(cfg.tgis, cfg.hidden)

    def forward(self, volume: torch.Tensor, text_vector: torch.Tensor,
                random_scores: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        t3, t2, feats = self.scan(volume)
        return self.question(t3, t2, feats, text_vector, random_scores)


def build_vision_model(cfg: VisionConfig, seed: int = 0) -> VisionModel:
    """A :class:`VisionModel` with deterministic initial weights, in eval mode.

    Example:
        >>> from training.models.config import get_config
        >>> m = build_vision_model(get_config("tiny"))
        >>> sum(p.numel() for p in m.parameters()) > 0
        True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = VisionModel(cfg)
    return model.eval()
