"""Text-guided inter-slice (TG-IS) scoring, Med-2E3, and the ablation aggregations.

Per slice j (Med-2E3 eq. 4, appendix A): the perceiver's 3D tokens are reshaped to their
(d, h, w) grid and each depth layer is replicated to the slices of its depth group
(``repeat_interleave``, the paper's "interleaved" replication), giving z3D_j; then
``z_j = mean over tokens of [z3D_j ; z2D_j]``. Scores (eq. 5-6):
``s = softmax_j(t . z_j / temperature)`` with ``t`` the question's text vector (optionally both
projected into a shared space). The 2D tokens aggregated by ``s`` (eq. 7) are appended after
the 3D tokens (eq. 8).
"""

from __future__ import annotations

import torch
from torch import nn

from training.models.config import TGISConfig


def slice_features(tokens_3d: torch.Tensor, tokens_2d: torch.Tensor,
                   grid: tuple[int, int, int] | None) -> torch.Tensor:
    """Per-slice features ``(B, D, hidden)`` = mean over tokens of ``[z3D_j ; z2D_j]``.

    ``tokens_3d`` ``(B, N3, hidden)``; ``tokens_2d`` ``(B, D, L2, hidden)``. With ``grid = None``
    (perceivers whose tokens have no spatial layout: mixer, Q-Former) every slice's 3D part is
    all 3D tokens. Computed as a token-count weighted mean of the two parts' means, which equals
    the mean over the concatenation without materialising the replicated 3D tokens.
    """
    b, d, l2, _ = tokens_2d.shape
    if grid is None:
        mean3 = tokens_3d.mean(dim=1, keepdim=True).expand(b, d, -1)
        l3 = tokens_3d.shape[1]
    else:
        gd, gh, gw = grid
        if d % gd:
            raise ValueError(f"{d} slices do not split into {gd} depth groups")
        l3 = gh * gw
        mean3 = tokens_3d.reshape(b, gd, l3, -1).mean(dim=2)  # (B, gd, hidden)
        mean3 = mean3.repeat_interleave(d // gd, dim=1)        # slice j -> depth group j // (D/gd)
    mean2 = tokens_2d.mean(dim=2)
    return (l3 * mean3 + l2 * mean2) / (l3 + l2)


class TGISHead(nn.Module):
    """The question-dependent part: slice scores and the final image tokens.

    ``forward(tokens_3d, tokens_2d, slice_feats, text_vector, random_scores=None)`` returns
    ``(slice_scores (B, D), image_tokens (B, N3 + L2, hidden))``. ``random_scores`` (positive,
    e.g. uniform in (0, 1)) is only read in ``"random"`` mode, where it is normalised to sum 1;
    it is an input so that the exported graph stays deterministic.

    Example:
        >>> import torch
        >>> head = TGISHead(TGISConfig(), hidden=8)
        >>> s, tok = head(torch.zeros(1, 4, 8), torch.rand(1, 6, 2, 8), torch.rand(1, 6, 8),
        ...               torch.rand(1, 8))
        >>> s.shape, tok.shape, round(float(s.sum()), 5)
        (torch.Size([1, 6]), torch.Size([1, 6, 8]), 1.0)
    """

    def __init__(self, cfg: TGISConfig, hidden: int) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.proj_dim is not None:
            self.text_proj = nn.Linear(hidden, cfg.proj_dim)
            self.slice_proj = nn.Linear(hidden, cfg.proj_dim)
        else:
            self.text_proj = self.slice_proj = None

    def scores(self, slice_feats: torch.Tensor, text_vector: torch.Tensor) -> torch.Tensor:
        """TG-IS scores ``softmax_j(t . z_j / temperature)``, shape ``(B, D)``."""
        z, t = slice_feats, text_vector
        if self.text_proj is not None:
            z, t = self.slice_proj(z), self.text_proj(t)
        logits = torch.einsum("bdc,bc->bd", z, t) / self.cfg.temperature
        return torch.softmax(logits, dim=1)

    def forward(self, tokens_3d: torch.Tensor, tokens_2d: torch.Tensor, slice_feats: torch.Tensor,
                text_vector: torch.Tensor, random_scores: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        mode = self.cfg.mode
        b, d = tokens_2d.shape[:2]
        if mode == "max":
            agg, idx = tokens_2d.max(dim=1)  # (B, L2, hidden)
            # score = share of (token, channel) positions taken from each slice; sums to 1
            onehot = (idx.unsqueeze(1) == torch.arange(d).view(1, d, 1, 1)).to(tokens_2d.dtype)
            s = onehot.mean(dim=(2, 3))
        else:
            if mode == "tgis":
                s = self.scores(slice_feats, text_vector)
            elif mode == "average":
                s = torch.full((b, d), 1.0 / d, dtype=tokens_2d.dtype)
            else:  # random
                if random_scores is None:
                    raise ValueError("random mode needs random_scores")
                s = random_scores / random_scores.sum(dim=1, keepdim=True)
            agg = torch.einsum("bd,bdlc->blc", s, tokens_2d)
        return s, torch.cat([tokens_3d, agg], dim=1)
