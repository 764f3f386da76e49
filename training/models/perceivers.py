"""Perceivers (3D connectors): ViT tokens -> image tokens in the LLM hidden size.

* :class:`PoolMLP`  -- M3D / Med-2E3: k x k x k average pooling, then Linear-GELU-Linear.
* :class:`Conv3DPerceiver` -- E3D-GPT: Conv3d with kernel = stride = k (merge and project).
* :class:`MixerPerceiver` -- Med3DVLM: dual-stream MLP-Mixer over low- and high-level tokens.
* :class:`QFormerPerceiver` -- learnable queries with cross-attention (ablation baseline).

All take ``tokens`` ``(B, N, C)`` in (d, h, w) raster order and ``low`` (mid-layer tokens, used by
the mixer only) and return ``(B, M, hidden)``. Build one with :func:`build_perceiver`.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from training.models.config import VisionConfig
from training.models.layers import Attention, Mlp, init_weights, trunc_normal_


def _to_grid(tokens: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    b, _, c = tokens.shape
    return tokens.transpose(1, 2).reshape(b, c, *grid)


class PoolMLP(nn.Module):
    """k x k x k average pooling over the token grid, then an MLP to the LLM width (M3D)."""

    def __init__(self, in_dim: int, hidden: int, grid: tuple[int, int, int], k: int) -> None:
        super().__init__()
        self.grid, self.k = grid, k
        self.mlp = Mlp(in_dim, hidden, hidden)

    def forward(self, tokens: torch.Tensor, low: torch.Tensor | None = None) -> torch.Tensor:
        x = F.avg_pool3d(_to_grid(tokens, self.grid), self.k)
        return self.mlp(x.flatten(2).transpose(1, 2))


class Conv3DPerceiver(nn.Module):
    """Conv3d with kernel = stride = k from the ViT width to the LLM width (E3D-GPT)."""

    def __init__(self, in_dim: int, hidden: int, grid: tuple[int, int, int], k: int) -> None:
        super().__init__()
        self.grid = grid
        self.conv = nn.Conv3d(in_dim, hidden, kernel_size=k, stride=k)

    def forward(self, tokens: torch.Tensor, low: torch.Tensor | None = None) -> torch.Tensor:
        return self.conv(_to_grid(tokens, self.grid)).flatten(2).transpose(1, 2)


class _MixerStream(nn.Module):
    """One Mixer stream: token mixing N -> M tokens, then channel mixing C -> hidden."""

    def __init__(self, n_in: int, n_out: int, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(in_dim, eps=1e-6)
        self.token_mlp = Mlp(n_in, n_out, n_out)
        self.norm2 = nn.LayerNorm(in_dim, eps=1e-6)
        self.channel_mlp = Mlp(in_dim, hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)  # (B, M, C)
        return self.channel_mlp(self.norm2(x))


class MixerPerceiver(nn.Module):
    """Dual-stream MLP-Mixer projector (Med3DVLM): low- and high-level ViT tokens each go
    through a Mixer stream; the two streams are concatenated per token and fused linearly."""

    def __init__(self, in_dim: int, hidden: int, n_in: int, n_out: int) -> None:
        super().__init__()
        self.high = _MixerStream(n_in, n_out, in_dim, hidden)
        self.low = _MixerStream(n_in, n_out, in_dim, hidden)
        self.fuse = nn.Linear(2 * hidden, hidden)

    def forward(self, tokens: torch.Tensor, low: torch.Tensor | None = None) -> torch.Tensor:
        lo = self.low(tokens if low is None else low)
        return self.fuse(torch.cat([self.high(tokens), lo], dim=-1))


class _QFormerLayer(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(dim, eps=1e-6)
        self.self_attn = Attention(dim, heads)
        self.norm_c = nn.LayerNorm(dim, eps=1e-6)
        self.cross_attn = Attention(dim, heads)
        self.norm_m = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, q: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        q = q + self.self_attn(self.norm_q(q))
        q = q + self.cross_attn(self.norm_c(q), ctx)
        return q + self.mlp(self.norm_m(q))


class QFormerPerceiver(nn.Module):
    """Learnable queries that self-attend and cross-attend to the (projected) ViT tokens."""

    def __init__(self, in_dim: int, hidden: int, n_queries: int, layers: int, heads: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(trunc_normal_(torch.empty(1, n_queries, hidden)))
        self.ctx_proj = nn.Linear(in_dim, hidden)
        self.layers = nn.ModuleList(_QFormerLayer(hidden, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden, eps=1e-6)

    def forward(self, tokens: torch.Tensor, low: torch.Tensor | None = None) -> torch.Tensor:
        ctx = self.ctx_proj(tokens)
        q = self.queries.expand(tokens.shape[0], -1, -1)
        for layer in self.layers:
            q = layer(q, ctx)
        return self.norm(q)


class LocationCodes(nn.Module):
    """Appends to the image tokens location tokens: ``sum_i weight_i * codes_i`` over the grid
    cells, where the weight of cell ``i`` is ``softmax(logits)_i * sigmoid(max(logits))`` of the
    per-token lesion logits ``head(tokens)``. The code of the most lesion-like cell dominates, and
    only as far as that cell looks like a lesion at all (no lesion: about nothing).

    The codes start as the LLM's own embeddings of each cell's place words (:meth:`init_codes`),
    at the scale of its word embeddings, so for a lesion a token reads to the LLM like those
    words: it can copy a place from its input instead of having to learn which of 64 sequence
    positions is which part of the body. With ``words=1`` one token's codes start as the sum of
    the side's and the third's words ("right" + "upper"); with ``words=2`` there is a token per
    word (a side token, then a third token), each starting as one word. The weights are a
    softmax because a per-token sigmoid also opens on many tokens that merely resemble a lesion,
    whose codes (other places) would drown the lesion's. The head is trained as a per-token
    lesion detector (``MultimodalModel`` with ``lesion_weight``); its bias starts at -4.

    Example:
        >>> import torch
        >>> codes = LocationCodes((4, 4, 4), 640)
        >>> tokens, logits = codes(torch.ones(1, 64, 640))
        >>> tokens.shape, logits.shape
        (torch.Size([1, 65, 640]), torch.Size([1, 64]))
    """

    def __init__(self, grid: tuple[int, int, int], hidden: int) -> None:
        super().__init__()
        self.grid = grid
        self.head = nn.Linear(hidden, 1)
        nn.init.constant_(self.head.bias, -4.0)
        self.codes = nn.Parameter(torch.randn(grid[0] * grid[1] * grid[2], hidden) * 0.02)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(tokens and the location token (B, N + 1, hidden), lesion logits (B, cells))``."""
        logits = self.head(tokens)[..., 0]
        weight = torch.softmax(logits, dim=-1) * torch.sigmoid(logits.max(dim=-1, keepdim=True).values)
        location = (weight @ self.codes)[:, None]
        return torch.cat([tokens, location], dim=1), logits

    @torch.no_grad()
    def init_codes(self, cell_code: Callable[[int, int, int], torch.Tensor]) -> None:
        """Set each cell's code to ``cell_code(d, h, w)`` (grid indices, raster order), a
        ``(hidden,)`` vector."""
        d, h, w = self.grid
        self.codes.copy_(torch.stack([cell_code(i, j, k) for i in range(d) for j in range(h) for k in range(w)]))


def build_perceiver(cfg: VisionConfig) -> nn.Module:
    """The perceiver selected by ``cfg.perceiver.kind``, initialised.

    Example:
        >>> import torch
        >>> from training.models.config import get_config
        >>> p = build_perceiver(get_config("tiny", perceiver="conv3d"))
        >>> p(torch.zeros(1, 512, 96)).shape
        torch.Size([1, 64, 640])
    """
    pc, v = cfg.perceiver, cfg.vit3d
    if pc.kind == "pool_mlp":
        m: nn.Module = PoolMLP(v.width, cfg.hidden, v.grid, pc.k)
    elif pc.kind == "conv3d":
        m = Conv3DPerceiver(v.width, cfg.hidden, v.grid, pc.k)
    elif pc.kind == "mixer":
        m = MixerPerceiver(v.width, cfg.hidden, v.n_tokens, cfg.n_tokens_3d)
    else:
        m = QFormerPerceiver(v.width, cfg.hidden, cfg.n_tokens_3d, pc.layers, pc.heads)
    init_weights(m)
    return m
