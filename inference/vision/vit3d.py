"""3D ViT over non-overlapping 3D patches (M3D-CLIP / E3D-GPT vision encoder)."""

from __future__ import annotations

import torch
from torch import nn

from .config import ViT3DConfig
from .layers import Block, init_weights, sincos_pos_embed


class ViT3D(nn.Module):
    """ViT over 3D patches: Conv3d patch embedding (kernel = stride = patch), fixed 3D sine-cosine
    positions, pre-norm transformer blocks, final LayerNorm. No class token.

    Example:
        >>> import torch
        >>> from inference.vision.config import get_config
        >>> vit = ViT3D(get_config("tiny").vit3d)
        >>> vit(torch.zeros(1, 1, 32, 64, 64)).shape
        torch.Size([1, 512, 96])
    """

    def __init__(self, cfg: ViT3DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.patch_embed = nn.Conv3d(1, cfg.width, kernel_size=cfg.patch, stride=cfg.patch)
        self.register_buffer("pos_embed", sincos_pos_embed(cfg.grid, cfg.width), persistent=False)
        self.blocks = nn.ModuleList(Block(cfg.width, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.width, eps=1e-6)
        init_weights(self)

    def embed(self, volume: torch.Tensor) -> torch.Tensor:
        """Patch tokens with positions, ``(B, N, width)`` in (d, h, w) raster order."""
        return self.patch_embed(volume).flatten(2).transpose(1, 2) + self.pos_embed

    def forward_tokens(self, x: torch.Tensor, return_layer: int | None = None
                       ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Run the blocks on given tokens; optionally also return the output of block
        ``return_layer`` (0-based, before the final norm) as low-level features."""
        mid = None
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if i == return_layer:
                mid = x
        x = self.norm(x)
        return x if return_layer is None else (x, mid)

    def forward(self, volume: torch.Tensor, return_layer: int | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``volume`` ``(B, 1, D, H, W)`` -> tokens ``(B, N, width)``."""
        return self.forward_tokens(self.embed(volume), return_layer)
