"""Med-2E3's 2D tower: transformers' ``SiglipVisionModel`` run on every axial slice of the volume.

Med-2E3 (``modeling_medmllm.py``, ``exp_id 4``) takes the (B, 1, 32, 256, 256) volume in [0, 1],
makes each of the 32 slices a 3-channel image by ``expand`` (no SigLIP mean/std), and keeps
``hidden_states[-1]``: the last encoder layer's 256 tokens, before ``post_layernorm`` (its
``"cls_patch"`` keeps them all; SigLIP has no cls token). The attention-pooling head is in
the checkpoint but not used.

Key names: the checkpoint (``vision2d_model/pytorch_model.bin``, saved by transformers 4.4x)
names them ``vision_model.embeddings...``; transformers 5.x's ``SiglipVisionModel`` *is* the
former ``SiglipVisionTransformer`` and names them without that prefix.
:func:`published_prefix` says which prefix to strip for the installed transformers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .state_dict import load_published

CHECKPOINT_PREFIX = "vision_model."


def build_siglip(config: Mapping[str, Any], attn_implementation: str = "sdpa") -> nn.Module:
    """A ``SiglipVisionModel`` in eval mode from a ``SiglipVisionConfig`` dict (the
    ``vision2d_model/config.json`` of the checkpoint), randomly initialised."""
    from transformers import SiglipVisionConfig, SiglipVisionModel

    cfg = SiglipVisionConfig(**{k: v for k, v in config.items() if k not in ("architectures", "model_type")})
    cfg._attn_implementation = attn_implementation
    return SiglipVisionModel(cfg).eval()


def published_prefix(model: nn.Module) -> str:
    """The part of the checkpoint's key names that ``model``'s own names lack."""
    return "" if hasattr(model, "vision_model") else CHECKPOINT_PREFIX


def _parts(model: nn.Module) -> nn.Module:
    """The module holding ``embeddings`` and ``encoder`` (itself under transformers 5.x)."""
    return getattr(model, "vision_model", model)


class SliceEncoder(nn.Module):
    """``forward(volume (B, 1, S, H, W)) -> (B, S, n_patches, hidden)``, per slice
    ``SiglipVisionModel(slice expanded to 3 channels).hidden_states[-1]``."""

    def __init__(self, siglip: nn.Module) -> None:
        super().__init__()
        self.siglip = siglip

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        b, c, s, h, w = volume.shape
        slices = volume.transpose(1, 2).reshape(b * s, c, h, w).expand(b * s, 3, h, w)
        parts = _parts(self.siglip)
        tokens = parts.encoder(inputs_embeds=parts.embeddings(slices)).last_hidden_state
        return tokens.reshape(b, s, tokens.shape[1], tokens.shape[2])

    def load_published(self, state_dict: Mapping[str, torch.Tensor], prefix: str = "") -> list[str]:
        """Load ``vision2d_model/pytorch_model.bin`` (keys ``prefix + 'vision_model.'...``)."""
        return load_published(self.siglip, state_dict, prefix + published_prefix(self.siglip))
