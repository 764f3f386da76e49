"""Med-2E3's connectors and its text-guided inter-slice (TG-IS) scoring, as its code computes them.

From MSIIP/Med-2E3 (``exp_id 4``, ``spatial_pooling_score15_mlp2x_gelu`` / ``mlp2x_gelu``):

* 3D connector (``vision3d_connector``): the ViT's 2048 patch tokens on their 8x16x16 grid,
  2x2x2 average pool -> 4x8x8 = 256 tokens, ``_connector`` = Linear(768 -> H), GELU,
  Linear(H -> H); it also holds ``text_mlp`` = Linear(768 -> H) for the question vector.
* 2D connector (``vision2d_connector``): ``_connector`` = Linear(1024 -> H), GELU,
  Linear(H -> H) on each slice's 256 SigLIP tokens.
* TG-IS, per slice s of the 32: the mean over the 64 connector tokens of its depth slab
  (pooled depth index s // 8) together with its own 256 2D connector tokens (320 tokens),
  dotted with ``text_mlp(BERT pooler_output)``, divided by 5 (hard-coded, whatever the caller
  passes), softmax over the 32 slices.
* Image tokens: the 256 3D tokens, then the score-weighted sum of the slices' 2D tokens (256).
"""

from __future__ import annotations

import torch
from torch import nn

from .lamed import mlp_stack, pool_grid_tokens
from .state_dict import CheckpointError

TEMPERATURE = 5.0  # SpatialPoolingScore15Connector.forward overrides its argument with 5


class Connector3D(nn.Module):
    """``forward(vit tokens (B, n_patches, in_dim)) -> (B, n_pooled, out_dim)``; ``text_mlp``
    maps the 768-wide BERT pooler output into the same space."""

    def __init__(self, grid: tuple[int, int, int], in_dim: int, out_dim: int, depth: int = 2,
                 text_dim: int = 768, pooling_size: int = 2) -> None:
        super().__init__()
        if any(g % pooling_size for g in grid):
            raise CheckpointError(f"the patch grid {grid} does not pool by {pooling_size}")
        self.grid, self.pooling_size = grid, pooling_size
        self._connector = mlp_stack(in_dim, out_dim, depth)
        self.text_mlp = nn.Linear(text_dim, out_dim)

    @property
    def pooled_grid(self) -> tuple[int, int, int]:
        return tuple(g // self.pooling_size for g in self.grid)  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._connector(pool_grid_tokens(x, self.grid, self.pooling_size))


class Connector2D(nn.Module):
    """``forward(tokens (..., in_dim)) -> (..., out_dim)``: the ``mlp2x_gelu`` connector."""

    def __init__(self, in_dim: int, out_dim: int, depth: int = 2) -> None:
        super().__init__()
        self._connector = mlp_stack(in_dim, out_dim, depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._connector(x)


def slice_features(tokens_3d: torch.Tensor, tokens_2d: torch.Tensor, n_slabs: int) -> torch.Tensor:
    """Per-slice means ``(B, S, H)`` over ``[slab's 3D tokens ; slice's 2D tokens]``.

    ``tokens_3d`` ``(B, N3, H)`` in pooled-grid order (depth slab first), ``tokens_2d``
    ``(B, S, L2, H)``; slice s belongs to slab ``s // (S / n_slabs)``. Computed as the
    token-count weighted mean of the two parts' means (equal to the mean of the concatenation).
    """
    b, s, l2, h = tokens_2d.shape
    if tokens_3d.shape[1] % n_slabs or s % n_slabs:
        raise CheckpointError(f"{tokens_3d.shape[1]} 3D tokens and {s} slices do not split "
                           f"into {n_slabs} depth slabs")
    l3 = tokens_3d.shape[1] // n_slabs
    mean3 = tokens_3d.reshape(b, n_slabs, l3, h).mean(dim=2).repeat_interleave(s // n_slabs, dim=1)
    return (l3 * mean3 + l2 * tokens_2d.mean(dim=2)) / (l3 + l2)


def tgis_scores(slice_feats: torch.Tensor, text_vector: torch.Tensor,
                temperature: float = TEMPERATURE) -> torch.Tensor:
    """``softmax_s(slice_feats[s] . text_vector / temperature)``, shape ``(B, S)``."""
    logits = torch.einsum("bsh,bh->bs", slice_feats, text_vector) / temperature
    return torch.softmax(logits, dim=1)


def image_tokens(tokens_3d: torch.Tensor, tokens_2d: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """``[3D tokens ; sum_s scores[s] * 2D tokens of slice s]``, shape ``(B, N3 + L2, H)``."""
    weighted = torch.einsum("bs,bslh->blh", scores, tokens_2d)
    return torch.cat([tokens_3d, weighted], dim=1)
