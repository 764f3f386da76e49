"""M3D-LaMed's vision side: the 3D ViT and its ``SpatialPoolingProjector`` (``mm_projector``).

The projector (``mm_projector_type "spp"``) lays the 2048 patch tokens back on their 8x16x16
grid, average-pools 2x2x2 to 4x8x8 = 256 tokens, then runs ``projector``: with
``proj_layer_type "mlp"`` and ``proj_layer_num 2`` that is Linear(768 -> H), GELU,
Linear(H -> H) (keys ``projector.0`` and ``projector.2``); ``"linear"`` stacks Linears without
activation. Published weights: ``model.vision_tower.vision_tower.*`` and ``model.mm_projector.*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .m3d_vit import M3DViT, M3DViTConfig
from .state_dict import CheckpointError, load_published

VIT_PREFIX = "model.vision_tower.vision_tower."
PROJECTOR_PREFIX = "model.mm_projector."


def pool_grid_tokens(x: torch.Tensor, grid: tuple[int, int, int], size: int = 2) -> torch.Tensor:
    """``(B, g0*g1*g2, C)`` tokens in grid order -> average-pooled ``(B, n_pooled, C)``."""
    b, _, c = x.shape
    cube = x.transpose(1, 2).reshape(b, c, *grid)
    cube = F.avg_pool3d(cube, kernel_size=size, stride=size)
    return cube.flatten(2).transpose(1, 2)


def mlp_stack(in_dim: int, out_dim: int, depth: int, act: bool = True) -> nn.Sequential:
    """``Linear(in, out)`` then ``depth - 1`` times (GELU if ``act``) + ``Linear(out, out)``."""
    layers: list[nn.Module] = [nn.Linear(in_dim, out_dim)]
    for _ in range(1, depth):
        if act:
            layers.append(nn.GELU())
        layers.append(nn.Linear(out_dim, out_dim))
    return nn.Sequential(*layers)


class SpatialPoolingProjector(nn.Module):
    """``forward(tokens (B, n_patches, in_dim)) -> (B, n_pooled, out_dim)``."""

    def __init__(self, grid: tuple[int, int, int], in_dim: int, out_dim: int,
                 layer_type: str = "mlp", layer_num: int = 2, pooling_size: int = 2) -> None:
        super().__init__()
        if layer_type not in ("mlp", "linear"):
            raise CheckpointError(f"the projector layer type '{layer_type}' is not one M3D-LaMed "
                               "defines (mlp or linear)")
        if any(g % pooling_size for g in grid):
            raise CheckpointError(f"the patch grid {grid} does not pool by {pooling_size}")
        self.grid, self.pooling_size = grid, pooling_size
        self.projector = mlp_stack(in_dim, out_dim, int(layer_num), act=layer_type == "mlp")

    @property
    def n_tokens(self) -> int:
        g, s = self.grid, self.pooling_size
        return (g[0] // s) * (g[1] // s) * (g[2] // s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(pool_grid_tokens(x, self.grid, self.pooling_size))


class LamedVision(nn.Module):
    """The LaMed scan graph: ``volume (B, 1, 32, 256, 256) -> image tokens (B, 256, H)``."""

    def __init__(self, vit_cfg: M3DViTConfig, llm_hidden: int, layer_type: str = "mlp",
                 layer_num: int = 2, pooling_size: int = 2) -> None:
        super().__init__()
        self.vision_tower = M3DViT(vit_cfg, output="final_norm", keep_cls=False)
        self.mm_projector = SpatialPoolingProjector(vit_cfg.grid, vit_cfg.hidden_size, llm_hidden,
                                                    layer_type, layer_num, pooling_size)

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        return self.mm_projector(self.vision_tower(volume))

    def load_published(self, state_dict: Mapping[str, torch.Tensor],
                       vit_prefix: str = VIT_PREFIX,
                       projector_prefix: str = PROJECTOR_PREFIX) -> list[str]:
        """Load both parts from the LaMed checkpoint's keys; returns the dropped unused keys."""
        dropped = load_published(self.vision_tower, state_dict, vit_prefix)
        return dropped + load_published(self.mm_projector, state_dict, projector_prefix)


def build_lamed_vision(config: Mapping[str, Any], vit_cfg: M3DViTConfig | None = None) -> LamedVision:
    """From an M3D-LaMed ``config.json`` dict (``vit_cfg`` overrides the ViT sizes, for tests)."""
    if config.get("mm_projector_type", "spp") != "spp":
        raise CheckpointError(f"the M3D-LaMed projector type '{config.get('mm_projector_type')}' "
                           "is not the spatial pooling projector (spp) of the published models")
    if config.get("proj_pooling_type", "spatial") != "spatial":
        raise CheckpointError("only the spatial pooling of the published M3D-LaMed models is supported")
    if config.get("vision_select_layer", -1) != -1 or config.get("vision_select_feature", "patch") != "patch":
        raise CheckpointError("only the published M3D-LaMed feature choice (last layer, patch "
                           "tokens) is supported")
    vit_cfg = vit_cfg or M3DViTConfig.from_lamed(config)
    if "mm_hidden_size" in config and int(config["mm_hidden_size"]) != vit_cfg.hidden_size:
        raise CheckpointError(f"mm_hidden_size {config['mm_hidden_size']} does not match the ViT "
                           f"width {vit_cfg.hidden_size}")
    return LamedVision(vit_cfg, int(config["hidden_size"]), config.get("proj_layer_type", "mlp"),
                       int(config.get("proj_layer_num", 2)),
                       int(config.get("proj_pooling_size", 2))).eval()
