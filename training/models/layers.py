"""Transformer building blocks shared by the 3D ViT, the 2D slice encoder, the MAE and the Q-Former."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Multi-head attention; self-attention when ``context`` is omitted."""

    def __init__(self, dim: int, heads: int, context_dim: int | None = None) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim or dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        ctx = x if context is None else context
        b, n, c = x.shape
        h = self.heads
        q = self.q(x).reshape(b, n, h, c // h).transpose(1, 2)
        k, v = self.kv(ctx).reshape(b, ctx.shape[1], 2, h, c // h).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Sequential):
    """Linear - GELU - Linear."""

    def __init__(self, dim: int, hidden: int, out: int | None = None) -> None:
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, out or dim))


class Block(nn.Module):
    """Pre-norm transformer encoder block."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def sincos_pos_embed(grid: tuple[int, ...], dim: int) -> torch.Tensor:
    """Fixed sine-cosine position embedding for a 2D or 3D token grid, shape ``(1, N, dim)``.

    The channels are split evenly between the grid axes (MAE style, extended to 3D); channels
    left over when ``dim`` is not divisible by ``2 * len(grid)`` are zero.
    """
    per_axis = (dim // (2 * len(grid))) * 2
    coords = np.meshgrid(*[np.arange(g, dtype=np.float64) for g in grid], indexing="ij")
    parts = []
    for c in coords:
        omega = 1.0 / 10000 ** (np.arange(per_axis // 2, dtype=np.float64) / max(per_axis // 2, 1))
        angles = c.reshape(-1, 1) * omega[None]
        parts += [np.sin(angles), np.cos(angles)]
    emb = np.concatenate(parts, axis=1)
    emb = np.pad(emb, ((0, 0), (0, dim - emb.shape[1])))
    return torch.from_numpy(emb.astype(np.float32))[None]


def init_weights(module: nn.Module) -> None:
    """Xavier-uniform linear layers and unit LayerNorms (MAE / ViT practice)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.Conv2d, nn.Conv3d)):
            # patch embeddings are linear maps of flattened patches
            nn.init.xavier_uniform_(m.weight.view(m.weight.shape[0], -1))
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def trunc_normal_(t: torch.Tensor, std: float = 0.02) -> torch.Tensor:
    """In-place truncated normal (+-2 std), the ViT default for learned tokens."""
    return nn.init.trunc_normal_(t, std=std, a=-2 * std, b=2 * std)

