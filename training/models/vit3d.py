"""3D ViT over non-overlapping 3D patches (M3D-CLIP / E3D-GPT vision encoder)."""

from __future__ import annotations

import torch
from torch import nn

from training.models.config import ViT3DConfig
from training.models.layers import Block, init_weights, sincos_pos_embed


def conv_stem(patch: tuple[int, int, int], channels: int, width: int) -> nn.Sequential:
    """3 x 3 x 3 convolutions, each halving the axes whose patch is not yet reached, with
    ``channels`` doubling per convolution, then a 1 x 1 x 1 projection to ``width``: the same
    token grid as a ``patch`` embedding, from overlapping local filters.

    Example:
        >>> import torch
        >>> conv_stem((4, 8, 8), 16, 96)(torch.zeros(1, 1, 32, 64, 64)).shape
        torch.Size([1, 96, 8, 8, 8])
    """
    layers: list[nn.Module] = []
    c_in, c_out, stage = 1, channels, 0
    while any(p >> stage > 1 for p in patch):
        stride = tuple(2 if p >> stage > 1 else 1 for p in patch)
        layers += [nn.Conv3d(c_in, c_out, kernel_size=3, stride=stride, padding=1), nn.GELU()]
        c_in, c_out, stage = c_out, c_out * 2, stage + 1
    layers.append(nn.Conv3d(c_in, width, kernel_size=1))
    return nn.Sequential(*layers)


class ViT3D(nn.Module):
    """ViT over 3D patches: Conv3d patch embedding (kernel = stride = patch; or a convolutional
    stem, ``cfg.stem == "conv"``), fixed 3D sine-cosine positions, pre-norm transformer blocks,
    final LayerNorm. No class token.

    Example:
        >>> import torch
        >>> from training.models.config import get_config
        >>> vit = ViT3D(get_config("tiny").vit3d)
        >>> vit(torch.zeros(1, 1, 32, 64, 64)).shape
        torch.Size([1, 512, 96])
    """

    def __init__(self, cfg: ViT3DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.stem == "conv":
            self.patch_embed = conv_stem(cfg.patch, cfg.stem_channels, cfg.width)
        else:
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
