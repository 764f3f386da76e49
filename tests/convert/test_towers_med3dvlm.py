"""Med3DVLM's DCFormer and mixer projector. No library implements them, so the reference is a
functional re-implementation written here from the description of mirthAI/Med3DVLM's
``dcformer.py`` and ``projector/mlp.py`` (F.conv3d per axis + F.batch_norm, summed; max-pool,
1x1x1 projection; channel MLP with layer scale; LayerNorm + token/channel MLPs), plus the
published key list written out from the modules' structure."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F
from towers_refs import ONNX_TOL, onnx_round_trip, randomize, rel, shapes, with_prefix

from convert.towers.dcformer import DCFormer, DCFormerConfig
from convert.towers.graphs import SCAN_INPUTS, SCAN_OUTPUTS, export_med3dvlm
from convert.towers.med3dvlm import build_med3dvlm_vision
from convert.towers.mixer import MixerProjector
from convert.towers.onnx_export import max_rel_diff, run_onnx
from convert.towers.state_dict import CheckpointError

SMALL = DCFormerConfig(num_blocks=(1, 1, 2, 2, 1), channels=(8, 8, 16, 16, 24), kernel_sizes=(5, 5, 3, 3))
SHAPE = (64, 128, 128)  # (D, H, W): s3 is 4x4x2 = 32 tokens, s4 2x2x1 = 4
MED3DVLM = {"architectures": ["VLMQwenForCausalLM"], "hidden_size": 3584, "vision_tower": "dcformer",
            "input_size": [256, 256, 128], "vision_select_layer": -2, "vision_select_feature": "cls_patch",
            "mm_projector_type": "mixer", "mm_mlp_depth": 2, "proj_out_num": 256,
            "low_input_size": [256, 384], "high_input_size": [32, 768],
            "low_output_size": [192, 128], "high_output_size": [64, 128], "mm_hidden_size": 768}
SMALL_CONFIG = {**MED3DVLM, "hidden_size": 40, "input_size": [128, 128, 64], "low_input_size": [32, 16],
                "high_input_size": [4, 24], "low_output_size": [12, 6], "high_output_size": [5, 6]}
TOL = 1e-5


def ref_decomp(sd, p: str, x, stride: int = 1, groups: int = 1):
    """Three convolutions along the three axes, each batch-normalised, summed; no activation."""
    out = 0
    for i in (1, 2, 3):
        w, b = sd[f"{p}c{i}.0.weight"], sd[f"{p}c{i}.0.bias"]
        pad = tuple(k // 2 for k in w.shape[2:])
        y = F.conv3d(x, w, b, stride=stride, padding=pad, groups=groups)
        out = out + F.batch_norm(y, sd[f"{p}c{i}.1.running_mean"], sd[f"{p}c{i}.1.running_var"],
                                 sd[f"{p}c{i}.1.weight"], sd[f"{p}c{i}.1.bias"], False, 0.0, 1e-5)
    return out


def ref_dcformer(sd, cfg: DCFormerConfig, volume):
    x = volume.permute(0, 1, 3, 4, 2)  # (B, C, D, H, W) -> (B, C, H, W, D)
    for j in range(cfg.num_blocks[0]):
        for i in range(4):
            x = ref_decomp(sd, f"encoder.s0.{j}.{i}.", x, stride=4 if i == 0 else 1)
    maps = [x]
    for s in range(1, 5):
        for j in range(cfg.num_blocks[s]):
            p = f"encoder.s{s}.{j}."
            if j == 0:
                x = F.conv3d(F.max_pool3d(x, 3, 2, 1), sd[p + "proj.weight"])
            y = ref_decomp(sd, p + "dwconv.", x, groups=x.shape[1]).permute(0, 2, 3, 4, 1)
            y = F.linear(F.gelu(F.linear(y, sd[p + "mlp.mlp.0.weight"], sd[p + "mlp.mlp.0.bias"])),
                         sd[p + "mlp.mlp.3.weight"], sd[p + "mlp.mlp.3.bias"])
            x = x + (sd[p + "scale"] * y).permute(0, 4, 1, 2, 3)
        maps.append(x)
    # "b d h w t -> b t h w d", then pack "b * d"
    return [m.permute(0, 4, 2, 3, 1).reshape(m.shape[0], -1, m.shape[1]) for m in maps]


def ref_mixer(sd, low, high):
    def proj(p, x):
        x = F.linear(x, sd[p + "mm_projector.0.weight"], sd[p + "mm_projector.0.bias"])
        return F.linear(F.gelu(x), sd[p + "mm_projector.1.1.weight"], sd[p + "mm_projector.1.1.bias"])

    def layer(p, x):
        x = F.layer_norm(x, x.shape[-1:], sd[p + "ln1.weight"], sd[p + "ln1.bias"])
        x = proj(p + "mlp1.", x.transpose(1, 2)).transpose(1, 2)
        x = F.layer_norm(x, x.shape[-1:], sd[p + "ln2.weight"], sd[p + "ln2.bias"])
        return proj(p + "mlp2.", x)

    for i in range(2):
        low, high = layer(f"low_mixer.{i}.", low), layer(f"high_mixer.{i}.", high)
    return torch.cat([low, high], dim=1)


def published_dcformer_keys(cfg: DCFormerConfig) -> dict[str, tuple[int, ...]]:
    """``vision_tower.bin`` names (after ``vision_tower.``) of ``decomp_small``'s modules."""
    keys: dict[str, tuple[int, ...]] = {}

    def decomp(p, cin, cout, k, groups=1):
        for i, kern in ((1, (k, 1, 1)), (2, (1, k, 1)), (3, (1, 1, k))):
            keys[f"{p}c{i}.0.weight"] = (cout, cin // groups, *kern)
            keys[f"{p}c{i}.0.bias"] = (cout,)
            for n in ("weight", "bias", "running_mean", "running_var"):
                keys[f"{p}c{i}.1.{n}"] = (cout,)
            keys[f"{p}c{i}.1.num_batches_tracked"] = ()

    ch = cfg.channels
    for i, (cin, k) in enumerate(((cfg.in_channels, 7), (ch[0], 3), (ch[0], 3), (ch[0], 3))):
        decomp(f"encoder.s0.0.{i}.", cin, ch[0], k)
    for s in range(1, 5):
        c, k = ch[s], cfg.kernel_sizes[s - 1]
        for j in range(cfg.num_blocks[s]):
            p = f"encoder.s{s}.{j}."
            if j == 0:
                keys[p + "proj.weight"] = (c, ch[s - 1], 1, 1, 1)
            decomp(p + "dwconv.", c, c, k, groups=c)
            keys.update({p + "mlp.mlp.0.weight": (4 * c, c), p + "mlp.mlp.0.bias": (4 * c,),
                         p + "mlp.mlp.3.weight": (c, 4 * c), p + "mlp.mlp.3.bias": (c,), p + "scale": (c,)})
    return keys


def test_decomposed_conv_stem_and_blocks_match_the_reference():
    enc = randomize(DCFormer(SMALL), seed=9)
    x = torch.rand(2, 1, *SHAPE)
    sd = enc.state_dict()
    with torch.no_grad():
        ref = ref_dcformer(sd, SMALL, x)
        got = enc(x)
        stem = enc.encoder.s0(x.permute(0, 1, 3, 4, 2))
    assert [t.shape[1] for t in ref] == [16384, 2048, 256, 32, 4]
    assert len(got) == 2
    assert rel(got[0], ref[3]) < TOL and rel(got[1], ref[4]) < TOL
    assert float(stem.min()) < -0.5  # BN but no GELU in the stem (GELU is bounded below by -0.17)


def test_mixer_matches_the_reference_and_has_no_residual():
    mixer = randomize(MixerProjector((32, 16), (12, 6), (4, 24), (5, 6), output_dim=40), seed=10)
    low, high = torch.randn(2, 32, 16), torch.randn(2, 4, 24)
    with torch.no_grad():
        got = mixer((low, high))
        ref = ref_mixer(mixer.state_dict(), low, high)
    assert got.shape == (2, 12, 40) and mixer.n_tokens == 12
    assert rel(got, ref) < TOL


def test_med3dvlm_scan_matches_the_reference():
    vision = randomize(build_med3dvlm_vision(SMALL_CONFIG, SMALL), seed=11)
    assert vision.input_shape == SHAPE
    x = torch.rand(1, 1, *SHAPE)
    sd_tower, sd_proj = vision.vision_tower.state_dict(), vision.mm_projector.state_dict()
    with torch.no_grad():
        maps = ref_dcformer(sd_tower, SMALL, x)
        ref = ref_mixer(sd_proj, maps[3], maps[4])
        got = vision(x)
    assert got.shape == (1, 12, 40) and rel(got, ref) < TOL


def test_published_keys_load_strict_from_safetensors_and_vision_tower_bin():
    with torch.device("meta"):
        full = build_med3dvlm_vision(MED3DVLM)
    assert shapes(full.vision_tower.state_dict()) == published_dcformer_keys(DCFormerConfig())
    proj = shapes(full.mm_projector.state_dict())
    assert proj["low_mixer.0.mlp1.mm_projector.0.weight"] == (192, 256)
    assert proj["low_mixer.0.mlp2.mm_projector.0.weight"] == (1792, 384)
    assert proj["low_mixer.1.ln1.weight"] == (1792,)
    assert proj["low_mixer.1.mlp1.mm_projector.1.1.weight"] == (128, 128)
    assert proj["high_mixer.0.mlp1.mm_projector.0.weight"] == (64, 32)
    assert proj["high_mixer.1.mlp2.mm_projector.1.1.weight"] == (3584, 3584)
    assert len(proj) == 2 * 2 * (4 + 2 * 4)  # 2 streams x 2 layers x (2 LNs + 2 MLPs of 2 Linears)
    assert full.input_shape == (128, 256, 256) and full.mm_projector.n_tokens == 256

    src = randomize(build_med3dvlm_vision(SMALL_CONFIG, SMALL), seed=12)
    safet = {**with_prefix(src.vision_tower.state_dict(), "model.vision_tower.vision_tower."),
             **with_prefix(src.mm_projector.state_dict(), "model.mm_projector."),
             "model.embed_tokens.weight": torch.zeros(3, 2)}
    x = torch.rand(1, 1, *SHAPE)
    for kwargs in ({}, {"vision_state_dict": with_prefix(src.vision_tower.state_dict(), "vision_tower.")}):
        fresh = build_med3dvlm_vision(SMALL_CONFIG, SMALL)
        assert fresh.load_published(safet, **kwargs) == []
        with torch.no_grad():
            assert rel(fresh(x), src(x)) == 0.0


def test_unsupported_configurations_are_refused():
    with pytest.raises(CheckpointError, match="not 'dcformer'"):
        build_med3dvlm_vision({**MED3DVLM, "vision_tower": "vit3d"})
    with pytest.raises(CheckpointError, match="input widths"):
        build_med3dvlm_vision({**MED3DVLM, "low_input_size": [256, 512]})


def test_onnx_scan_graph_matches_torch(tmp_path):
    vision = randomize(build_med3dvlm_vision(SMALL_CONFIG, SMALL), seed=13)
    (diff,) = onnx_round_trip(vision, (torch.rand(1, 1, *SHAPE),), tmp_path / "scan.onnx",
                              SCAN_INPUTS, SCAN_OUTPUTS)
    assert diff < ONNX_TOL


def test_full_size_scan_graph_exports_and_matches_torch(tmp_path):
    """decomp_small + the 3584-wide mixer on (1, 1, 128, 256, 256): about 40 s on 2 cores."""
    vision = randomize(build_med3dvlm_vision(MED3DVLM), seed=20)
    graphs = export_med3dvlm(vision, tmp_path)
    x = torch.rand(1, 1, 128, 256, 256, generator=torch.Generator().manual_seed(21))
    with torch.no_grad():
        ref = vision(x).numpy()
    (got,) = run_onnx(graphs["scan"].path, {"volume": x.numpy()})
    assert got.shape == (1, 256, 3584)
    diff = max_rel_diff(got, ref)
    print(f"full-size Med3DVLM scan graph: max rel diff {diff:.2e}")
    assert diff < ONNX_TOL
