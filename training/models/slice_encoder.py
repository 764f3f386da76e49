"""2D slice encoder: a 2D ViT on every axial slice of the model input, plus the 2D connector.

Med-2E3 uses SigLIP here; we build a configurable 2D ViT of the same role (single channel,
no class token), followed by k x k token pooling and an MLP into the LLM hidden size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.models.config import SliceEncoderConfig
from training.models.layers import Block, Mlp, init_weights, sincos_pos_embed


class SliceEncoder(nn.Module):
    """``volume`` ``(B, 1, D, H, W)`` -> 2D tokens per slice ``(B, D, L2, hidden)``.

    Example:
        >>> import torch
        >>> from training.models.config import get_config
        >>> enc = SliceEncoder(get_config("tiny").slice_encoder, hidden=640)
        >>> enc(torch.zeros(1, 1, 32, 64, 64)).shape
        torch.Size([1, 32, 16, 640])
    """

    def __init__(self, cfg: SliceEncoderConfig, hidden: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.patch_embed = nn.Conv2d(1, cfg.width, kernel_size=cfg.patch, stride=cfg.patch)
        self.register_buffer("pos_embed", sincos_pos_embed(cfg.grid, cfg.width), persistent=False)
        self.blocks = nn.ModuleList(Block(cfg.width, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.width, eps=1e-6)
        self.connector = Mlp(cfg.width, hidden, hidden)  # Linear-GELU-Linear, as the 3D side
        init_weights(self)

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        b, _, d, h, w = volume.shape
        x = volume.reshape(b * d, 1, h, w)  # every axial slice is one 2D image
        if (h, w) != tuple(self.cfg.image_size):
            x = F.interpolate(x, size=self.cfg.image_size, mode="bilinear", align_corners=False)
        x = self.patch_embed(x)  # (BD, C, gh, gw)
        x = x.flatten(2).transpose(1, 2) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        gh, gw = self.cfg.grid
        p = self.cfg.pool
        if p > 1:
            x = x.transpose(1, 2).reshape(b * d, -1, gh, gw)
            x = F.avg_pool2d(x, p).flatten(2).transpose(1, 2)
        x = self.connector(x)
        return x.reshape(b, d, x.shape[1], x.shape[2])
