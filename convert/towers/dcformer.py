"""Med3DVLM's vision tower: the DCFormer encoder (``decomp_small``), in plain torch.

From mirthAI/Med3DVLM ``src/model/encoder/dcformer.py``, with the same parameter names
(``encoder.s0`` ... ``encoder.s4``; the published ``vision_tower.bin`` prefixes them with
``vision_tower.``, the model's safetensors with ``model.vision_tower.vision_tower.``):

* the input (B, 1, D, H, W) is permuted to (B, 1, H, W, D) first;
* a decomposed conv is the sum of three convolutions with kernels (k,1,1), (1,k,1), (1,1,k)
  (padding k // 2 on the kernel's axis, the same stride on all axes), each followed by its own
  BatchNorm3d (``c1``/``c2``/``c3`` = Sequential(Conv3d with bias, BatchNorm3d));
* ``s0`` is the stem: decomposed convs with kernel 7 stride 4 (1 -> C0), then kernel 3 stride 1
  three times (C0 -> C0). ``DecomposedStem`` passes ``nn.GELU()`` positionally into the
  ``norm`` slot (``norm`` is truthy, so BN is used) and no ``act``: the stem has no activation;
* ``s1``..``s4`` stack ConvBlocks; the first of each stage max-pools (3, 2, 1) and projects with
  a bias-free 1x1x1 conv (``proj``). A block is ``x + scale * mlp(dwconv(x))`` with ``dwconv``
  a depthwise (groups = C) decomposed conv with BN, ``mlp`` Linear(C -> 4C), exact GELU,
  Linear(4C -> C) over channels (``mlp.mlp.0``, ``mlp.mlp.3``), ``scale`` a (C,) layer scale;
* every stage's output (B, C, h, w, t) is returned as tokens ``b (t h w) c`` (depth-major).

Med3DVLM (``vision_select_layer -2``, ``"cls_patch"``) keeps the last two stages: for a
(1, 1, 128, 256, 256) input, s3 (1, 256, 384) and s4 (1, 32, 768).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class DCFormerConfig:
    """Stage sizes; the defaults are ``decomp_small`` (the only one Med3DVLM builds)."""

    in_channels: int = 1
    num_blocks: tuple[int, ...] = (1, 2, 3, 6, 2)
    channels: tuple[int, ...] = (64, 96, 192, 384, 768)
    kernel_sizes: tuple[int, ...] = (13, 11, 9, 7)

    def __post_init__(self) -> None:
        if len(self.num_blocks) != 5 or len(self.channels) != 5 or len(self.kernel_sizes) != 4:
            raise ValueError("DCFormer has a stem and four stages: 5 block counts, 5 channel "
                             "counts and 4 kernel sizes")


def _conv_bn(in_dim: int, out_dim: int, kernel: tuple[int, int, int], stride: int, groups: int,
             norm: bool) -> nn.Sequential:
    pad = tuple(k // 2 for k in kernel)
    return nn.Sequential(nn.Conv3d(in_dim, out_dim, kernel, stride=stride, padding=pad, groups=groups),
                         nn.BatchNorm3d(out_dim) if norm else nn.Identity())


class DecompConv3d(nn.Module):
    """``c1(x) + c2(x) + c3(x)``: one conv per axis, each with its BatchNorm; no activation."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int, stride: int = 1, groups: int = 1,
                 norm: bool = True) -> None:
        super().__init__()
        self.c1 = _conv_bn(in_dim, out_dim, (kernel, 1, 1), stride, groups, norm)
        self.c2 = _conv_bn(in_dim, out_dim, (1, kernel, 1), stride, groups, norm)
        self.c3 = _conv_bn(in_dim, out_dim, (1, 1, kernel), stride, groups, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c1(x) + self.c2(x) + self.c3(x)


def decomposed_stem(in_dim: int, out_dim: int) -> nn.Sequential:
    """Kernel 7 stride 4, then kernel 3 three times; BN in each, no activation (see above)."""
    return nn.Sequential(DecompConv3d(in_dim, out_dim, 7, stride=4),
                         *(DecompConv3d(out_dim, out_dim, 3) for _ in range(3)))


class ChannelMLP(nn.Module):
    """``mlp``: Linear, GELU, (dropout 0), Linear, (dropout 0) - indices 0 and 3 hold weights."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Identity(),
                                 nn.Linear(hidden, dim), nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


class ConvBlock(nn.Module):
    """``x + scale * mlp(dwconv(x))`` (channels last for the MLP), after an optional
    max-pool + 1x1x1 projection."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int, downsample: bool, expansion: int = 4) -> None:
        super().__init__()
        self.downsample = downsample
        if downsample:
            self.pool = nn.MaxPool3d(3, 2, 1)
            self.proj = nn.Conv3d(in_dim, out_dim, 1, 1, 0, bias=False)
        self.dwconv = DecompConv3d(out_dim, out_dim, kernel, groups=out_dim)
        self.mlp = ChannelMLP(out_dim, out_dim * expansion)
        self.scale = nn.Parameter(torch.full((out_dim,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample:
            x = self.proj(self.pool(x))
        y = self.mlp(self.dwconv(x).permute(0, 2, 3, 4, 1)) * self.scale
        return x + y.permute(0, 4, 1, 2, 3)


class _Stages(nn.Module):
    """``s0`` (stem) .. ``s4``; returns every stage's feature map."""

    def __init__(self, cfg: DCFormerConfig) -> None:
        super().__init__()
        ch, nb = cfg.channels, cfg.num_blocks
        self.s0 = nn.Sequential(*(decomposed_stem(cfg.in_channels if i == 0 else ch[0], ch[0])
                                  for i in range(nb[0])))
        for s in range(1, 5):
            blocks = [ConvBlock(ch[s - 1] if i == 0 else ch[s], ch[s], cfg.kernel_sizes[s - 1], i == 0)
                      for i in range(nb[s])]
            setattr(self, f"s{s}", nn.Sequential(*blocks))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for s in range(5):
            x = getattr(self, f"s{s}")(x)
            out.append(x)
        return out


def stage_tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w, t) -> (B, t*h*w, C): ``rearrange b d h w t -> b t h w d`` then ``pack``."""
    return x.permute(0, 4, 2, 3, 1).flatten(1, 3)


class DCFormer(nn.Module):
    """``forward(volume (B, C, D, H, W)) -> tokens of the last ``n_last`` stages`` (a tuple)."""

    def __init__(self, cfg: DCFormerConfig = DCFormerConfig(), n_last: int = 2) -> None:
        super().__init__()
        self.cfg, self.n_last = cfg, n_last
        self.encoder = _Stages(cfg)

    def forward(self, volume: torch.Tensor) -> tuple[torch.Tensor, ...]:
        maps = self.encoder(volume.permute(0, 1, 3, 4, 2))
        return tuple(stage_tokens(m) for m in maps[-self.n_last:])
