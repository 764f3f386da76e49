"""Shared helpers of the tower tests: random weights that exercise every parameter, reduced
configurations with the published structure, and the ONNX round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from convert.towers.onnx_export import export_graph, max_rel_diff, run_onnx

ONNX_TOL = 1e-4  # max |onnx - torch| / max |torch| accepted for every graph


def randomize(module: nn.Module, seed: int = 0, scale: float = 0.2) -> nn.Module:
    """Give every parameter and floating buffer random values, so no part is an identity by
    accident: weight matrices and kernels ~ N(0, 1 / fan_in) (activations stay O(1) at any
    width, as with a trained model's), norm scales near 1, biases, shifts, position embeddings
    and layer scales ~ N(0, scale^2), BN variances in [0.5, 1.5)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in list(module.named_parameters()) + list(module.named_buffers()):
            if not p.is_floating_point():
                continue
            r = torch.randn(p.shape, generator=g)
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "running_var":
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif leaf.endswith("weight") and p.dim() >= 2:  # Linear, Conv, Embedding, in_proj
                p.copy_(r / (p.numel() / p.shape[0]) ** 0.5)
            elif leaf == "weight" and p.dim() == 1:  # norm scales
                p.copy_(1.0 + scale * r)
            else:
                p.copy_(scale * r)
    return module.eval()


def with_prefix(state_dict: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v.clone() for k, v in state_dict.items()}


def shapes(state_dict: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state_dict.items()}


def onnx_round_trip(module: nn.Module, args: tuple[torch.Tensor, ...], path: Path,
                    inputs: tuple[str, ...], outputs: tuple[str, ...], **kw) -> list[float]:
    """Export, run in ONNX Runtime on ``args``, return each output's max relative difference."""
    with torch.no_grad():
        ref = module(*args)
    ref = ref if isinstance(ref, tuple) else (ref,)
    export_graph(module, args, path, inputs, outputs, **kw)
    got = run_onnx(path, {n: a.numpy() for n, a in zip(inputs, args)})
    assert len(got) == len(ref)
    return [max_rel_diff(g, r.numpy()) for g, r in zip(got, ref)]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return max_rel_diff(a.detach().numpy(), b.detach().numpy())


def no_nan(*tensors: torch.Tensor) -> bool:
    return all(bool(np.isfinite(t.detach().numpy()).all()) for t in tensors)
