"""Shared helpers of the tower tests: random weights that exercise every parameter, reduced
configurations with the published structure, and the ONNX round trip."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from convert.towers.m3d_vit import M3DViTConfig
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


SMALL_VIT = M3DViTConfig(img_size=(16, 64, 64), patch_size=(4, 16, 16), hidden_size=64, mlp_dim=128,
                     num_layers=2, num_heads=4)


def monai_vit(cfg: M3DViTConfig):
    from monai.networks.nets import ViT

    ref = ViT(in_channels=cfg.in_channels, img_size=cfg.img_size, patch_size=cfg.patch_size,
              hidden_size=cfg.hidden_size, mlp_dim=cfg.mlp_dim, num_layers=cfg.num_layers,
              num_heads=cfg.num_heads, proj_type="perceptron", pos_embed_type="learnable",
              classification=True, dropout_rate=0.0, spatial_dims=3, qkv_bias=False)
    del ref.classification_head  # M3D's copy of ViT has none: forward returns the normed sequence
    return ref.eval()


def published_vit_keys(cfg: M3DViTConfig) -> dict[str, tuple[int, ...]]:
    """Key names and shapes under M3D-LaMed's ``model.vision_tower.vision_tower.`` (MONAI 1.3
    PatchEmbeddingBlock + TransformerBlock/SABlock/MLPBlock, ViT's cls_token and norm)."""
    h, m = cfg.hidden_size, cfg.mlp_dim
    keys = {"cls_token": (1, 1, h), "patch_embedding.position_embeddings": (1, cfg.n_patches, h),
            "patch_embedding.patch_embeddings.1.weight": (h, cfg.patch_dim),
            "patch_embedding.patch_embeddings.1.bias": (h,), "norm.weight": (h,), "norm.bias": (h,)}
    for i in range(cfg.num_layers):
        b = f"blocks.{i}."
        keys.update({b + "norm1.weight": (h,), b + "norm1.bias": (h,), b + "norm2.weight": (h,),
                     b + "norm2.bias": (h,), b + "attn.qkv.weight": (3 * h, h),
                     b + "attn.out_proj.weight": (h, h), b + "attn.out_proj.bias": (h,),
                     b + "mlp.linear1.weight": (m, h), b + "mlp.linear1.bias": (m,),
                     b + "mlp.linear2.weight": (h, m), b + "mlp.linear2.bias": (h,)})
    return keys
