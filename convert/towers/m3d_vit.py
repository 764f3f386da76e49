"""The M3D-CLIP 3D ViT (vision tower of M3D-LaMed and Med-2E3), in plain torch.

Their ``vit.py`` builds MONAI 1.3's ``PatchEmbeddingBlock`` (``pos_embed="perceptron"``, a
learnable position embedding) and ``TransformerBlock`` with a cls token and no classification
head. We rebuild the same computation with the same parameter names, so the published tensors
load as they are (under ``model.vision_tower.vision_tower.`` in M3D-LaMed, ``vision_encoder.``
in Med-2E3's ``vision3d_model``):

* ``patch_embedding.patch_embeddings.1`` Linear(C*p1*p2*p3 -> hidden) on patches cut as
  ``b c (h p1) (w p2) (d p3) -> b (h w d) (p1 p2 p3 c)`` (index 0 is the parameter-free
  rearrange), ``patch_embedding.position_embeddings`` (1, n_patches, hidden) added before
  the cls token is prepended (the cls token gets no position embedding);
* ``blocks.N``: pre-LN (eps 1e-5) attention (``attn.qkv`` without bias, split as
  ``(qkv heads head_dim)``, ``attn.out_proj``) and MLP (``mlp.linear1``, exact GELU,
  ``mlp.linear2``);
* ``norm``: the final LayerNorm.

Which output a model takes is a constructor choice: M3D-LaMed the final norm's output
(``vision_select_layer -1``), Med-2E3 the last block's output before the final norm
(``hidden_states[-1]``); both drop the cls token (``"patch"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

from .state_dict import CheckpointError

Output = Literal["final_norm", "last_block"]


@dataclass(frozen=True)
class M3DViTConfig:
    """Sizes of the ViT; the defaults are the published model's (M3D-CLIP, M3D-LaMed)."""

    in_channels: int = 1
    img_size: tuple[int, int, int] = (32, 256, 256)
    patch_size: tuple[int, int, int] = (4, 16, 16)
    hidden_size: int = 768
    mlp_dim: int = 3072
    num_layers: int = 12
    num_heads: int = 12

    def __post_init__(self) -> None:
        object.__setattr__(self, "img_size", tuple(int(v) for v in self.img_size))
        object.__setattr__(self, "patch_size", tuple(int(v) for v in self.patch_size))
        if len(self.img_size) != 3 or len(self.patch_size) != 3:
            raise CheckpointError("the 3D ViT needs a three-axis image size and patch size")
        if any(i % p for i, p in zip(self.img_size, self.patch_size)):
            raise CheckpointError(f"the image size {self.img_size} is not a multiple of the "
                               f"patch size {self.patch_size}")
        if self.hidden_size % self.num_heads:
            raise CheckpointError(f"the ViT width {self.hidden_size} does not split into "
                               f"{self.num_heads} heads")

    @property
    def grid(self) -> tuple[int, int, int]:
        """Patch grid (along D, H, W of the input volume)."""
        return tuple(i // p for i, p in zip(self.img_size, self.patch_size))  # type: ignore[return-value]

    @property
    def n_patches(self) -> int:
        g = self.grid
        return g[0] * g[1] * g[2]

    @property
    def patch_dim(self) -> int:
        p = self.patch_size
        return self.in_channels * p[0] * p[1] * p[2]

    @classmethod
    def from_m3d_clip(cls, config: Mapping[str, Any]) -> M3DViTConfig:
        """From an M3D-CLIP ``config.json`` (``M3DCLIPConfig``: in_channels, img_size, ...)."""
        if config.get("pos_embed", "perceptron") != "perceptron" or config.get("spatial_dims", 3) != 3:
            raise CheckpointError("this M3D-CLIP configuration does not use the 3D perceptron patch "
                               "embedding the published models use")
        names = {f.name for f in fields(cls)}
        return cls(**{k: config[k] for k in names if k in config})

    @classmethod
    def from_lamed(cls, config: Mapping[str, Any]) -> M3DViTConfig:
        """From an M3D-LaMed ``config.json``: ``ViT3DTower`` reads only image_channel,
        image_size and patch_size; width, depth and heads are the ViT defaults (its
        ``hidden_size`` key is the LLM's, not the ViT's)."""
        if config.get("vision_tower", "vit3d") != "vit3d":
            raise CheckpointError(f"this M3D-LaMed configuration names the vision tower "
                               f"'{config.get('vision_tower')}', not 'vit3d'")
        return cls(in_channels=config.get("image_channel", 1),
                   img_size=config.get("image_size", (32, 256, 256)),
                   patch_size=config.get("patch_size", (4, 16, 16)))


class _Patchify(nn.Module):
    """``b c (h p1) (w p2) (d p3) -> b (h w d) (p1 p2 p3 c)`` (MONAI's perceptron rearrange)."""

    def __init__(self, patch_size: tuple[int, int, int]) -> None:
        super().__init__()
        self.patch_size = patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, d0, d1, d2 = x.shape
        p1, p2, p3 = self.patch_size
        g0, g1, g2 = d0 // p1, d1 // p2, d2 // p3
        x = x.reshape(b, c, g0, p1, g1, p2, g2, p3)
        x = x.permute(0, 2, 4, 6, 3, 5, 7, 1)  # b g0 g1 g2 p1 p2 p3 c
        return x.reshape(b, g0 * g1 * g2, p1 * p2 * p3 * c)


class PatchEmbedding(nn.Module):
    """Perceptron patch embedding plus the learnable position embedding."""

    def __init__(self, cfg: M3DViTConfig) -> None:
        super().__init__()
        self.patch_embeddings = nn.Sequential(_Patchify(cfg.patch_size),
                                              nn.Linear(cfg.patch_dim, cfg.hidden_size))
        self.position_embeddings = nn.Parameter(torch.zeros(1, cfg.n_patches, cfg.hidden_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch_embeddings(x) + self.position_embeddings


class SelfAttention(nn.Module):
    """Multi-head self-attention with one fused qkv projection laid out ``(qkv, head, dim)``."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden, bias=False)
        self.out_proj = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)  # scale head_dim ** -0.5, as MONAI's
        return self.out_proj(y.transpose(1, 2).reshape(b, n, c))


class MLP(nn.Module):
    """``linear2(gelu(linear1(x)))`` with exact (erf) GELU."""

    def __init__(self, hidden: int, mlp_dim: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(hidden, mlp_dim)
        self.linear2 = nn.Linear(mlp_dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(F.gelu(self.linear1(x)))


class Block(nn.Module):
    """Pre-LN transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``."""

    def __init__(self, cfg: M3DViTConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.hidden_size)
        self.attn = SelfAttention(cfg.hidden_size, cfg.num_heads)
        self.norm2 = nn.LayerNorm(cfg.hidden_size)
        self.mlp = MLP(cfg.hidden_size, cfg.mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class M3DViT(nn.Module):
    """The 3D ViT; ``forward(volume (B, C, D, H, W)) -> tokens (B, n_patches[+1], hidden)``.

    ``output="final_norm"`` (M3D-LaMed) or ``"last_block"`` (Med-2E3, before the final norm);
    ``keep_cls`` keeps the cls token in front (both published models drop it).
    """

    # MONAI >= 1.4 gives every TransformerBlock a cross-attention it only runs when built with
    # with_cross_attention=True (never here): a checkpoint saved under it carries these keys
    UNUSED_KEYS = (r"blocks\.\d+\.norm_cross_attn\.", r"blocks\.\d+\.cross_attn\.")

    def __init__(self, cfg: M3DViTConfig, output: Output = "final_norm", keep_cls: bool = False) -> None:
        super().__init__()
        if output not in ("final_norm", "last_block"):
            raise ValueError(f"output must be 'final_norm' or 'last_block', not {output!r}")
        self.cfg, self.output, self.keep_cls = cfg, output, keep_cls
        self.patch_embedding = PatchEmbedding(cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.hidden_size))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.num_layers))
        self.norm = nn.LayerNorm(cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embedding(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        for blk in self.blocks:
            x = blk(x)
        if self.output == "final_norm":
            x = self.norm(x)
        return x if self.keep_cls else x[:, 1:]


def build_m3d_vit(config: M3DViTConfig | Mapping[str, Any], output: Output = "final_norm",
                  keep_cls: bool = False) -> M3DViT:
    """An :class:`M3DViT` in eval mode from a config (or a dict of its field names)."""
    cfg = config if isinstance(config, M3DViTConfig) else M3DViTConfig(**dict(config))
    return M3DViT(cfg, output, keep_cls).eval()
