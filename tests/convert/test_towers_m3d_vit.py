"""The M3D-CLIP 3D ViT against MONAI's own ViT, and the published key names.

MONAI is the reference M3D's ``vit.py`` builds on (it pins monai 1.3.0). We test against the
installed MONAI (1.6.x), whose argument names changed in 1.4 (``pos_embed`` -> ``proj_type`` and
``pos_embed_type``) and whose TransformerBlock always has a ``norm_cross_attn`` LayerNorm
(1.4-1.5 also a ``cross_attn`` block) that it runs only with ``with_cross_attention=True``.
So the reference is built with ``proj_type="perceptron", pos_embed_type="learnable",
classification=True``, its classification head (which M3D comments out) is removed, and the
published (MONAI 1.3) names are loaded with exactly those cross-attention keys left over.
"""

from __future__ import annotations

import pytest
import torch
from towers_refs import SMALL_VIT as SMALL
from towers_refs import monai_vit, published_vit_keys, randomize, rel, shapes, with_prefix

from convert.towers.m3d_vit import M3DViTConfig, build_m3d_vit
from convert.towers.state_dict import CheckpointError, load_published

TOL = 1e-5


def test_matches_monai_vit_on_every_output():
    ours = randomize(build_m3d_vit(SMALL), seed=1)
    ref = monai_vit(SMALL)
    result = ref.load_state_dict(ours.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert sorted(result.missing_keys) == sorted(
        f"blocks.{i}.norm_cross_attn.{p}" for i in range(SMALL.num_layers) for p in ("weight", "bias"))
    x = torch.rand(2, 1, *SMALL.img_size)
    with_cls = build_m3d_vit(SMALL, keep_cls=True)  # MONAI's outputs keep the cls token
    with_cls.load_state_dict(ours.state_dict())
    our_states = []  # each block's output, as MONAI returns them beside the normed output
    for block in with_cls.blocks:
        block.register_forward_hook(lambda module, args, out: our_states.append(out))
    with torch.no_grad():
        ref_norm, ref_states = ref(x)
        our_norm = with_cls(x)
        lamed = build_m3d_vit(SMALL, output="final_norm")
        lamed.load_state_dict(ours.state_dict())
        med2e3 = build_m3d_vit(SMALL, output="last_block")
        med2e3.load_state_dict(ours.state_dict())
        lamed_out, med2e3_out = lamed(x), med2e3(x)
    assert rel(our_norm, ref_norm) < TOL
    assert all(rel(a, b) < TOL for a, b in zip(our_states, ref_states, strict=True))
    assert lamed_out.shape == (2, SMALL.n_patches, SMALL.hidden_size)
    assert rel(lamed_out, ref_norm[:, 1:]) < TOL            # LaMed: after the final norm, no cls
    assert rel(med2e3_out, ref_states[-1][:, 1:]) < TOL     # Med-2E3: hidden_states[-1], no cls
    assert rel(med2e3_out, ref_norm[:, 1:]) > 1e-2          # ... which is not the normed output


def test_published_names_load_strict_and_monai_14_keys_are_dropped():
    ours = build_m3d_vit(SMALL)
    assert shapes(ours.state_dict()) == published_vit_keys(SMALL)
    ref = randomize(monai_vit(SMALL), seed=2)  # saved under MONAI >= 1.4: extra cross-attn keys
    dropped = load_published(ours, with_prefix(ref.state_dict(), "vision_encoder."), "vision_encoder.")
    assert dropped == sorted(f"blocks.{i}.norm_cross_attn.{p}" for i in range(2) for p in ("bias", "weight"))
    x = torch.rand(1, 1, *SMALL.img_size)
    with torch.no_grad():
        assert rel(ours(x), ref(x)[0][:, 1:]) < TOL


def test_full_size_published_layout():
    with torch.device("meta"):
        full = build_m3d_vit(M3DViTConfig())
    got = shapes(full.state_dict())
    assert got == published_vit_keys(M3DViTConfig())
    assert got["patch_embedding.position_embeddings"] == (1, 2048, 768)
    assert got["patch_embedding.patch_embeddings.1.weight"] == (768, 1024)
    assert len([k for k in got if k.startswith("blocks.")]) == 12 * 11


def test_configs_of_the_published_models():
    lamed = {"image_channel": 1, "image_size": [32, 256, 256], "patch_size": [4, 16, 16],
             "hidden_size": 3072, "mm_hidden_size": 768, "vision_tower": "vit3d"}
    assert M3DViTConfig.from_lamed(lamed) == M3DViTConfig()  # its hidden_size is the LLM's
    clip = {"in_channels": 1, "img_size": [32, 256, 256], "patch_size": [4, 16, 16], "hidden_size": 768,
            "mlp_dim": 3072, "num_layers": 12, "num_heads": 12, "pos_embed": "perceptron",
            "spatial_dims": 3, "max_text_len": 128, "vocab_size": 30522}
    assert M3DViTConfig.from_m3d_clip(clip) == M3DViTConfig()
    with pytest.raises(CheckpointError, match="perceptron"):
        M3DViTConfig.from_m3d_clip({**clip, "pos_embed": "conv"})


def test_mismatched_weights_are_named():
    ours = build_m3d_vit(SMALL)
    sd = with_prefix(ours.state_dict(), "m.")
    with pytest.raises(CheckpointError, match="no weights under 'x.'"):
        load_published(ours, sd, "x.")
    missing = {k: v for k, v in sd.items() if k != "m.norm.bias"}
    with pytest.raises(CheckpointError, match="lacks 1 weights under 'm.' .*: norm.bias"):
        load_published(ours, missing, "m.")
    with pytest.raises(CheckpointError, match="does not know: extra"):
        load_published(ours, {**sd, "m.extra": torch.zeros(1)}, "m.")
    wrong = {**sd, "m.cls_token": torch.zeros(1, 1, 32)}
    with pytest.raises(CheckpointError, match=r"cls_token \(1, 1, 32\) \(expected \(1, 1, 64\)\)"):
        load_published(ours, wrong, "m.")


def test_bfloat16_checkpoints_load_into_float32_graphs():
    """Med-2E3 trained in bf16 and saved its parameters as they were: the graphs stay float32."""
    src = randomize(build_m3d_vit(SMALL), seed=3)
    bf16 = {k: v.to(torch.bfloat16) for k, v in with_prefix(src.state_dict(), "vision_encoder.").items()}
    ours = build_m3d_vit(SMALL)
    load_published(ours, bf16, "vision_encoder.")
    assert {p.dtype for p in ours.parameters()} == {torch.float32}
    assert torch.equal(ours.cls_token, src.cls_token.to(torch.bfloat16).float())
