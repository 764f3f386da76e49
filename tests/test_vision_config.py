"""Vision configs: the published shapes (checked on the meta device, no weights allocated),
validation, JSON round trip, and a light ``import inference.vision``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from training.models.config import PRESETS, PerceiverConfig, TGISConfig, VisionConfig, get_config


def test_published_token_counts() -> None:
    m3d, e3d = get_config("m3d"), get_config("e3d_gpt")
    assert (m3d.vit3d.input_shape, m3d.vit3d.patch, m3d.vit3d.width, m3d.vit3d.depth) == \
        ((32, 256, 256), (4, 16, 16), 768, 12)
    assert m3d.vit3d.n_tokens == 2048 and m3d.n_tokens_3d == 256  # 2 x 2 x 2 pooling
    assert (e3d.vit3d.input_shape, e3d.vit3d.patch, e3d.vit3d.width) == ((112, 224, 224), (8, 16, 16), 1536)
    assert e3d.vit3d.n_tokens == 2744 and e3d.n_tokens_3d == 343  # Conv3d k = stride = 2
    assert e3d.perceiver.kind == "conv3d"
    assert get_config("tiny").vit3d.input_shape == (32, 64, 64)


@pytest.mark.parametrize("preset", ["m3d", "e3d_gpt"])
def test_full_size_models_have_the_published_shapes(preset: str) -> None:
    torch = pytest.importorskip("torch")
    from training.models.vision_model import VisionModel

    cfg = get_config(preset)
    with torch.device("meta"):
        model = VisionModel(cfg)
    model = model.to("meta")
    with torch.device("meta"):
        t3, t2, feats = model.scan(torch.empty(1, 1, *cfg.vit3d.input_shape))
        tokens = model.scan.vit3d(torch.empty(1, 1, *cfg.vit3d.input_shape))
        scores, image_tokens = model.question(t3, t2, feats, torch.empty(1, 640))
    assert tokens.shape == (1, cfg.vit3d.n_tokens, cfg.vit3d.width)
    assert t3.shape == (1, cfg.n_tokens_3d, 640)
    assert t2.shape == (1, cfg.n_slices, cfg.n_tokens_2d, 640)
    assert scores.shape == (1, cfg.n_slices)
    assert image_tokens.shape == (1, cfg.n_tokens_3d + cfg.n_tokens_2d, 640)


def test_validation_and_roundtrip() -> None:
    with pytest.raises(ValueError):
        PerceiverConfig(kind="transformer")
    with pytest.raises(ValueError):
        TGISConfig(mode="softmax")
    with pytest.raises(ValueError):
        TGISConfig(temperature=0)
    with pytest.raises(ValueError):
        get_config("tiny", perceiver="conv3d").__class__(
            name="bad", perceiver=PerceiverConfig(kind="pool_mlp", k=3))  # 8 x 16 x 16 grid / 3
    with pytest.raises(ValueError):
        get_config("nope")
    for cfg in PRESETS.values():
        assert VisionConfig.from_dict(cfg.to_dict()) == cfg
    cfg = get_config("tiny", perceiver="mixer", tgis_mode="tgis", temperature=5.0, proj_dim=32)
    assert (cfg.perceiver.kind, cfg.tgis.temperature, cfg.tgis.proj_dim) == ("mixer", 5.0, 32)
    assert cfg.perceiver_grid is None and cfg.n_tokens_3d == 64


def test_import_is_light() -> None:
    code = ("import sys, inference.vision, training.models.config; "
            "heavy = [m for m in ('torch', 'onnx', 'onnxruntime', 'gguf', 'PySide6', 'vtk') "
            "if m in sys.modules]; print(heavy); sys.exit(bool(heavy))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_conv_stem_gives_the_patch_grid_and_old_configs_read_as_linear() -> None:
    torch = pytest.importorskip("torch")
    from training.models.config import ViT3DConfig
    from training.models.vit3d import ViT3D

    cfg = get_config("tiny_conv")
    assert cfg.vit3d.stem == "conv" and cfg.vit3d.grid == get_config("tiny").vit3d.grid
    vit = ViT3D(cfg.vit3d)
    strides = [m.stride for m in vit.patch_embed if isinstance(m, torch.nn.Conv3d)]
    assert strides == [(2, 2, 2), (2, 2, 2), (1, 2, 2), (1, 1, 1)]  # 4 x 8 x 8 patches, then 1 x 1 x 1
    assert vit(torch.zeros(1, 1, 32, 64, 64)).shape == (1, 512, 96)
    # a bundle written before stems existed has no "stem" key: it is the linear embedding
    old = get_config("tiny").to_dict()
    del old["vit3d"]["stem"], old["vit3d"]["stem_channels"]
    assert VisionConfig.from_dict(old) == get_config("tiny")
    with pytest.raises(ValueError, match="stem"):
        ViT3DConfig(stem="resnet")
    with pytest.raises(ValueError, match="power-of-two"):
        ViT3DConfig(patch=(3, 16, 16), input_shape=(33, 256, 256), stem="conv")


def test_location_codes_need_a_grid_and_old_configs_read_without_them() -> None:
    from training.models.config import PerceiverConfig

    assert get_config("tiny_loc").perceiver.location_codes and not get_config("tiny_conv").perceiver.location_codes
    old = get_config("tiny_conv").to_dict()
    del old["perceiver"]["location_codes"]
    assert VisionConfig.from_dict(old) == get_config("tiny_conv")
    with pytest.raises(ValueError, match="grid"):
        PerceiverConfig(kind="qformer", location_codes=True)


def test_the_location_token_is_the_code_of_the_lesions_cell() -> None:
    """The location token is the code of the most lesion-like cell; when no token looks like a
    lesion, it is about nothing. The grid tokens pass unchanged."""
    import torch

    from training.models.perceivers import LocationCodes

    codes = LocationCodes((2, 2, 2), 16)
    tokens = torch.randn(1, 8, 16)
    tokens[0, :, 0] = 0.0
    tokens[0, 5, 0] = 30.0  # the head reads this feature: token 5 holds the lesion
    with torch.no_grad():
        codes.head.weight.zero_()
        codes.head.weight[0, 0] = 1.0
        codes.head.bias.zero_()
        out, logits = codes(tokens)
        assert out.shape == (1, 9, 16) and torch.equal(out[:, :8], tokens)
        torch.testing.assert_close(out[0, 8], codes.codes[5])
        codes.head.bias.fill_(-60.0)  # no token looks like a lesion
        assert float(codes(tokens)[0][0, 8].abs().max()) < 1e-6
    assert get_config("tiny_loc").n_tokens_3d == get_config("tiny_conv").n_tokens_3d + 1


def test_bundles_recording_the_removed_location_options_read_only_with_their_shipped_values() -> None:
    """Bundles written before ``location_words`` and ``location_grid`` were removed record them
    (the default bundle: 1 and "perceiver"); those read as today's model, other values refuse."""
    recorded = get_config("tiny_loc").to_dict()
    recorded["perceiver"].update(location_words=1, location_grid="perceiver")
    assert VisionConfig.from_dict(recorded) == get_config("tiny_loc")
    recorded["perceiver"]["location_grid"] = "encoder"
    with pytest.raises(ValueError, match="location_grid='encoder'.*removed"):
        VisionConfig.from_dict(recorded)
