"""Med3DVLM's scan graph: ``volume (1, 1, 128, 256, 256) -> image tokens (1, 256, 3584)``.

DCFormer (``decomp_small``) keeps its last two stages (``vision_select_layer -2``), the mixer
projector maps them to the LLM width. Published weights (``MagicXin/Med3DVLM-Qwen-2.5-7B``):
``model.vision_tower.vision_tower.encoder.*`` and ``model.mm_projector.*`` in the safetensors,
``vision_tower.encoder.*`` in ``vision_tower.bin``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .dcformer import DCFormer, DCFormerConfig
from .mixer import MixerProjector
from .state_dict import CheckpointError, load_published

VISION_PREFIX = "model.vision_tower.vision_tower."
VISION_BIN_PREFIX = "vision_tower."
PROJECTOR_PREFIX = "model.mm_projector."


class Med3DVLMVision(nn.Module):
    """DCFormer + mixer; ``forward(volume) -> (B, n_tokens, hidden)``."""

    def __init__(self, dcformer_cfg: DCFormerConfig, projector: MixerProjector,
                 input_shape: tuple[int, int, int] = (128, 256, 256)) -> None:
        super().__init__()
        self.input_shape = tuple(int(n) for n in input_shape)  # (D, H, W) of the volume
        self.vision_tower = DCFormer(dcformer_cfg, n_last=2)
        self.mm_projector = projector

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        low, high = self.vision_tower(volume)
        return self.mm_projector((low, high))

    def load_published(self, state_dict: Mapping[str, torch.Tensor],
                       vision_prefix: str = VISION_PREFIX,
                       projector_prefix: str = PROJECTOR_PREFIX,
                       vision_state_dict: Mapping[str, torch.Tensor] | None = None) -> list[str]:
        """Load the tower and the projector from the model's safetensors keys; pass
        ``vision_state_dict`` (``vision_tower.bin``, prefix ``vision_tower.``) to take the
        tower from there instead."""
        if vision_state_dict is not None:
            dropped = load_published(self.vision_tower, vision_state_dict, VISION_BIN_PREFIX)
        else:
            dropped = load_published(self.vision_tower, state_dict, vision_prefix)
        return dropped + load_published(self.mm_projector, state_dict, projector_prefix)


def build_med3dvlm_vision(config: Mapping[str, Any],
                          dcformer_cfg: DCFormerConfig | None = None) -> Med3DVLMVision:
    """From a Med3DVLM ``config.json`` dict (``dcformer_cfg`` overrides ``decomp_small``, for
    tests; the tower's sizes are not in the config, Med3DVLM always builds ``decomp_small``)."""
    if config.get("vision_tower", "dcformer") != "dcformer":
        raise CheckpointError(f"this Med3DVLM configuration names the vision tower "
                           f"'{config.get('vision_tower')}', not 'dcformer'")
    if config.get("mm_projector_type", "mixer") != "mixer":
        raise CheckpointError(f"this Med3DVLM configuration names the projector "
                           f"'{config.get('mm_projector_type')}', not 'mixer'")
    if config.get("vision_select_layer", -2) != -2:
        raise CheckpointError("only Med3DVLM's published feature choice (the last two DCFormer "
                           "stages) is supported")
    cfg = dcformer_cfg or DCFormerConfig()
    low_in = tuple(config.get("low_input_size", (256, cfg.channels[3])))
    high_in = tuple(config.get("high_input_size", (32, cfg.channels[4])))
    if low_in[1] != cfg.channels[3] or high_in[1] != cfg.channels[4]:
        raise CheckpointError(f"the mixer's input widths {low_in[1]}, {high_in[1]} do not match "
                           f"DCFormer's last stages {cfg.channels[3]}, {cfg.channels[4]}")
    projector = MixerProjector(low_in, config.get("low_output_size", (192, 128)), high_in,
                               config.get("high_output_size", (64, 128)), int(config["hidden_size"]),
                               int(config.get("mm_mlp_depth", 2)))
    h, w, d = config.get("input_size", (256, 256, 128))  # Med3DVLM writes it (H, W, D)
    return Med3DVLMVision(cfg, projector, (d, h, w)).eval()
