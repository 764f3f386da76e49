"""Med3DVLM's projector: ``MixerLowHighHybridMLP`` (``mm_projector_type "mixer"``).

From mirthAI/Med3DVLM ``src/model/projector/mlp.py``, same parameter names
(``low_mixer.i`` / ``high_mixer.i``, each ``ln1``, ``ln2``, ``mlp1.mm_projector.{0,1.1}``,
``mlp2.mm_projector.{0,1.1}``; the model's safetensors prefix them with ``model.mm_projector.``).
A mixer layer, with no residual anywhere: LayerNorm over channels, token MLP (Linear,
then (GELU, Linear) ``mlp_depth - 1`` times) across the token axis, LayerNorm (still the input
channel width), channel MLP. Layer i of ``depth`` widens the channels to
``output_dim // 2 ** (depth - i - 1)``. The low stream takes DCFormer's s3 tokens (256 x 384 ->
192 -> 128 tokens), the high stream its s4 tokens (32 x 768 -> 64 -> 128); their outputs are
concatenated: 256 tokens of ``output_dim`` (3584 for Qwen2.5-7B).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Projection(nn.Module):
    """``mm_projector`` = Linear(i, o), then ``depth - 1`` x Sequential(GELU, Linear(o, o))."""

    def __init__(self, in_size: int, out_size: int, depth: int) -> None:
        super().__init__()
        self.mm_projector = nn.Sequential(
            nn.Linear(in_size, out_size),
            *(nn.Sequential(nn.GELU(), nn.Linear(out_size, out_size)) for _ in range(depth - 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mm_projector(x)


class MixerLayer(nn.Module):
    """``(B, n_in, d_in) -> (B, n_out, d_out)``: ln1, token MLP, ln2, channel MLP."""

    def __init__(self, in_size: Sequence[int], out_size: Sequence[int], mlp_depth: int = 2) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(in_size[1])
        self.ln2 = nn.LayerNorm(in_size[1])
        self.mlp1 = Projection(in_size[0], out_size[0], mlp_depth)
        self.mlp2 = Projection(in_size[1], out_size[1], mlp_depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mlp1(self.ln1(x).transpose(1, 2)).transpose(1, 2)
        return self.mlp2(self.ln2(x))


def _stream(in_size: Sequence[int], token_sizes: Sequence[int], output_dim: int,
            mlp_depth: int) -> nn.ModuleList:
    depth = len(token_sizes)
    layers, size = [], (int(in_size[0]), int(in_size[1]))
    for i in range(depth):
        out = (int(token_sizes[i]), output_dim // 2 ** (depth - i - 1))
        layers.append(MixerLayer(size, out, mlp_depth))
        size = out
    return nn.ModuleList(layers)


class MixerProjector(nn.Module):
    """``forward((low (B, n_low, d_low), high (B, n_high, d_high))) -> (B, n_out, output_dim)``."""

    def __init__(self, low_input_size: Sequence[int] = (256, 384),
                 low_output_size: Sequence[int] = (192, 128),
                 high_input_size: Sequence[int] = (32, 768),
                 high_output_size: Sequence[int] = (64, 128),
                 output_dim: int = 3584, mlp_depth: int = 2) -> None:
        super().__init__()
        depth = len(low_output_size)
        if len(high_output_size) != depth or output_dim % 2 ** depth:
            raise ValueError("the mixer's low and high streams need the same depth, and the "
                             "output width must divide by 2 ** depth")
        self.low_mixer = _stream(low_input_size, low_output_size, output_dim, mlp_depth)
        self.high_mixer = _stream(high_input_size, high_output_size, output_dim, mlp_depth)
        self.n_tokens = int(low_output_size[-1]) + int(high_output_size[-1])

    def forward(self, features: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        low, high = features
        for low_layer, high_layer in zip(self.low_mixer, self.high_mixer):
            low, high = low_layer(low), high_layer(high)
        return torch.cat([low, high], dim=1)
