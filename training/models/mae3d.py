"""3D masked autoencoder (E3D-GPT's pretraining of the 3D ViT; He et al. 2022, extended to 3D).

75 % of the 3D patch tokens are removed at random; the encoder (a :class:`ViT3D`) sees the
remaining 25 % only; the decoder gets the encoded tokens plus one shared, learned mask token at
every removed position (with fixed 3D sine-cosine positions) and predicts each patch's voxels.
The loss is the mean squared error on the removed patches (optionally on per-patch normalised
voxels). After pretraining, ``mae.encoder`` is the 3D vision foundation model:
``scan_encoder.vit3d.load_state_dict(mae.encoder.state_dict())``.

Example:
    >>> import torch
    >>> from training.models.config import get_config
    >>> mae = MAE3D(get_config("tiny").vit3d, MAE3DConfig(width=64, depth=1, heads=4))
    >>> loss, pred, mask = mae(torch.rand(1, 1, 32, 64, 64))
    >>> pred.shape, int(mask.sum())
    (torch.Size([1, 512, 256]), 384)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from training.models.config import ViT3DConfig
from training.models.layers import Block, init_weights, sincos_pos_embed, trunc_normal_
from training.models.vit3d import ViT3D


@dataclass(frozen=True)
class MAE3DConfig:
    """Decoder and masking settings (defaults: the MAE paper's 512-wide, 8-block decoder)."""

    width: int = 512
    depth: int = 8
    heads: int = 16
    mask_ratio: float = 0.75
    norm_pix_loss: bool = True


class MAE3D(nn.Module):
    """Masked autoencoder around a :class:`ViT3D` encoder."""

    def __init__(self, vit: ViT3DConfig, cfg: MAE3DConfig = MAE3DConfig()) -> None:
        super().__init__()
        self.vit_cfg, self.cfg = vit, cfg
        self.encoder = ViT3D(vit)
        pd, ph, pw = vit.patch
        self.patch_voxels = pd * ph * pw
        self.decoder_embed = nn.Linear(vit.width, cfg.width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.width))  # shared by all removed patches
        self.register_buffer("decoder_pos", sincos_pos_embed(vit.grid, cfg.width), persistent=False)
        self.decoder_blocks = nn.ModuleList(Block(cfg.width, cfg.heads) for _ in range(cfg.depth))
        self.decoder_norm = nn.LayerNorm(cfg.width, eps=1e-6)
        self.decoder_pred = nn.Linear(cfg.width, self.patch_voxels)
        init_weights(self)
        trunc_normal_(self.mask_token)

    def patchify(self, volume: torch.Tensor) -> torch.Tensor:
        """``(B, 1, D, H, W)`` -> ``(B, N, pd*ph*pw)`` in the encoder's token order."""
        b = volume.shape[0]
        (gd, gh, gw), (pd, ph, pw) = self.vit_cfg.grid, self.vit_cfg.patch
        x = volume.reshape(b, gd, pd, gh, ph, gw, pw)
        return x.permute(0, 1, 3, 5, 2, 4, 6).reshape(b, gd * gh * gw, pd * ph * pw)

    def random_masking(self, tokens: torch.Tensor, ratio: float,
                       generator: torch.Generator | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Keep a random ``1 - ratio`` of the tokens per sample.

        Returns the kept tokens, the mask ``(B, N)`` (1 = removed) and the permutation that
        restores the original order.
        """
        b, n, c = tokens.shape
        keep = int(round(n * (1 - ratio)))
        noise = torch.rand(b, n, generator=generator, device=tokens.device)
        shuffle = noise.argsort(dim=1)
        restore = shuffle.argsort(dim=1)
        kept = torch.gather(tokens, 1, shuffle[:, :keep, None].expand(-1, -1, c))
        mask = torch.ones(b, n, device=tokens.device)
        mask[:, :keep] = 0
        return kept, torch.gather(mask, 1, restore), restore

    def decode(self, latent: torch.Tensor, restore: torch.Tensor) -> torch.Tensor:
        """Encoded visible tokens + mask tokens -> predicted voxels per patch ``(B, N, P)``."""
        x = self.decoder_embed(latent)
        b, keep, c = x.shape
        n = restore.shape[1]
        x = torch.cat([x, self.mask_token.expand(b, n - keep, c)], dim=1)
        x = torch.gather(x, 1, restore[:, :, None].expand(-1, -1, c)) + self.decoder_pos
        for blk in self.decoder_blocks:
            x = blk(x)
        return self.decoder_pred(self.decoder_norm(x))

    def loss(self, volume: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean squared error over the removed patches only."""
        target = self.patchify(volume)
        if self.cfg.norm_pix_loss:
            mean, var = target.mean(dim=-1, keepdim=True), target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1e-6).sqrt()
        per_patch = ((pred - target) ** 2).mean(dim=-1)
        return (per_patch * mask).sum() / mask.sum()

    def forward(self, volume: torch.Tensor, mask_ratio: float | None = None,
                generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(loss, pred (B, N, P), mask (B, N))``."""
        ratio = self.cfg.mask_ratio if mask_ratio is None else mask_ratio
        kept, mask, restore = self.random_masking(self.encoder.embed(volume), ratio, generator)
        pred = self.decode(self.encoder.forward_tokens(kept), restore)
        return self.loss(volume, pred, mask), pred, mask
