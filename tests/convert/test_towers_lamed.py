"""M3D-LaMed's vision side: ViT + SpatialPoolingProjector against MONAI's ViT and an einops
reference of the projector, the published keys, and the ONNX scan graph (small and full size)."""

from __future__ import annotations

import time

import pytest
import torch
from einops import rearrange
from torch.nn import functional as F
from towers_refs import (
    ONNX_TOL,
    monai_vit,
    onnx_round_trip,
    published_vit_keys,
    randomize,
    rel,
    shapes,
    with_prefix,
)
from towers_refs import SMALL_VIT as SMALL

from convert.towers.graphs import SCAN_INPUTS, SCAN_OUTPUTS, export_lamed
from convert.towers.lamed import build_lamed_vision
from convert.towers.m3d_vit import M3DViTConfig
from convert.towers.onnx_export import max_rel_diff, run_onnx
from convert.towers.state_dict import CheckpointError

LAMED_PHI3 = {"architectures": ["LamedPhi3ForCausalLM"], "hidden_size": 3072, "image_channel": 1,
              "image_size": [32, 256, 256], "patch_size": [4, 16, 16], "vision_tower": "vit3d",
              "vision_select_layer": -1, "vision_select_feature": "patch",
              "mm_projector_type": "spp", "proj_layer_type": "mlp", "proj_layer_num": 2,
              "proj_pooling_type": "spatial", "proj_pooling_size": 2, "mm_hidden_size": 768}
SMALL_LLM = 48
SMALL_CONFIG = {**LAMED_PHI3, "hidden_size": SMALL_LLM, "mm_hidden_size": SMALL.hidden_size}


def reference_projector(sd: dict[str, torch.Tensor], x: torch.Tensor,
                        grid: tuple[int, int, int]) -> torch.Tensor:
    """LaMed's SpatialPoolingProjector.forward, written with its einops patterns."""
    cube = rearrange(x, "b (p1 p2 p3) d -> b d p1 p2 p3", p1=grid[0], p2=grid[1], p3=grid[2])
    cube = F.avg_pool3d(cube, kernel_size=2, stride=2)
    seq = rearrange(cube, "b d p1 p2 p3 -> b (p1 p2 p3) d")
    h = F.gelu(F.linear(seq, sd["projector.0.weight"], sd["projector.0.bias"]))
    return F.linear(h, sd["projector.2.weight"], sd["projector.2.bias"])


def small_lamed():
    return randomize(build_lamed_vision(SMALL_CONFIG, vit_cfg=SMALL), seed=3)


def test_scan_matches_monai_vit_and_reference_projector():
    ours = small_lamed()
    ref_vit = monai_vit(SMALL)
    ref_vit.load_state_dict(ours.vision_tower.state_dict(), strict=False)
    proj_sd = ours.mm_projector.state_dict()
    x = torch.rand(2, 1, *SMALL.img_size)
    with torch.no_grad():
        ref = reference_projector(proj_sd, ref_vit(x)[0][:, 1:], SMALL.grid)
        got = ours(x)
    assert got.shape == (2, (SMALL.grid[0] // 2) * (SMALL.grid[1] // 2) * (SMALL.grid[2] // 2), SMALL_LLM)
    assert rel(got, ref) < 1e-5


def test_published_checkpoint_keys_load_strict():
    with torch.device("meta"):
        full = build_lamed_vision(LAMED_PHI3)
    vit_keys = published_vit_keys(M3DViTConfig())
    expected = {"model.vision_tower.vision_tower." + k: v for k, v in vit_keys.items()}
    expected.update({"model.mm_projector.projector.0.weight": (3072, 768),
                     "model.mm_projector.projector.0.bias": (3072,),
                     "model.mm_projector.projector.2.weight": (3072, 3072),
                     "model.mm_projector.projector.2.bias": (3072,)})
    got = {**with_prefix(full.vision_tower.state_dict(), "model.vision_tower.vision_tower."),
           **with_prefix(full.mm_projector.state_dict(), "model.mm_projector.")}
    assert shapes(got) == expected
    assert full.mm_projector.n_tokens == 256
    # the whole checkpoint (LLM and segmentation keys besides) loads the vision part strictly
    small = small_lamed()
    ckpt = {**with_prefix(small.vision_tower.state_dict(), "model.vision_tower.vision_tower."),
            **with_prefix(small.mm_projector.state_dict(), "model.mm_projector."),
            "model.embed_tokens.weight": torch.zeros(4, 2), "lm_head.weight": torch.zeros(4, 2),
            "model.seg_projector.0.weight": torch.zeros(2, 2)}
    fresh = build_lamed_vision(SMALL_CONFIG, vit_cfg=SMALL)
    assert fresh.load_published(ckpt) == []
    x = torch.rand(1, 1, *SMALL.img_size)
    with torch.no_grad():
        assert rel(fresh(x), small(x)) == 0.0


def test_unsupported_configurations_are_refused():
    with pytest.raises(CheckpointError, match="spatial pooling projector"):
        build_lamed_vision({**LAMED_PHI3, "mm_projector_type": "linear"})
    with pytest.raises(CheckpointError, match="feature choice"):
        build_lamed_vision({**LAMED_PHI3, "vision_select_feature": "cls_patch"})


def test_onnx_scan_graph_matches_torch(tmp_path):
    ours = small_lamed()
    x = torch.rand(1, 1, *SMALL.img_size)
    (diff,) = onnx_round_trip(ours, (x,), tmp_path / "scan.onnx", SCAN_INPUTS, SCAN_OUTPUTS)
    assert diff < ONNX_TOL


def test_full_size_scan_graph_exports_and_matches_torch(tmp_path):
    """The published size: 768 x 12 ViT on 32x256x256, projector to Phi-3's 3072 (40-80 s on
    2 shared cores: half of it the export, the rest two forward passes)."""
    t0 = time.perf_counter()
    vision = randomize(build_lamed_vision(LAMED_PHI3), seed=4)
    graphs = export_lamed(vision, tmp_path)
    t_export = time.perf_counter() - t0
    x = torch.rand(1, 1, 32, 256, 256, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref = vision(x).numpy()
    (got,) = run_onnx(graphs["scan"].path, {"volume": x.numpy()})
    assert got.shape == (1, 256, 3072)
    diff = max_rel_diff(got, ref)
    print(f"full-size LaMed scan graph: export {t_export:.1f} s, max rel diff {diff:.2e}")
    assert diff < ONNX_TOL
