"""ONNX Runtime against torch eager on a real scan: every perceiver (scan graph) and every TG-IS
mode (question graph), same weights, same input.

Tolerance: float32, ``atol = 1e-4`` and ``rtol = 1e-4`` on every output (measured max abs
differences are ~1e-6 on tokens and ~1e-7 on scores).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("inference.ort")

from inference.vision.runtime import VisionRuntime  # noqa: E402
from training.export.onnx_graphs import export_vision  # noqa: E402
from training.models.config import get_config  # noqa: E402
from training.models.inputs import model_input  # noqa: E402
from training.models.vision_model import build_vision_model  # noqa: E402

ATOL = RTOL = 1e-4


@pytest.fixture(scope="module")
def volume(a0001_dicom: Path) -> np.ndarray:
    """The real A0001 chest CT (DICOM) at the tiny config's grid (1, 1, 32, 64, 64), through the
    app's loader and preprocessing (M3D recipe on the tiny grid)."""
    vol = model_input(get_config("tiny"), a0001_dicom)
    assert vol.shape == (1, 1, 32, 64, 64) and vol.std() > 0.05  # a real scan, not a blank
    return vol


def _text_vector(seed: int = 1) -> np.ndarray:
    # the scale of Gemma's scaled embedding rows (norm ~ sqrt(640) * 0.05 per channel)
    return (np.random.default_rng(seed).standard_normal((1, 640)) * 0.05).astype(np.float32)


def _close(name: str, got: np.ndarray, want: np.ndarray) -> float:
    assert got.shape == want.shape, name
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL, err_msg=name)
    return float(np.abs(got - want).max())


@pytest.mark.parametrize("preset,perceiver", [("tiny", "pool_mlp"), ("tiny", "conv3d"), ("tiny", "mixer"),
                                              ("tiny", "qformer"), ("tiny_conv", "pool_mlp"), ("tiny_loc", "pool_mlp")])
def test_scan_graph_matches_torch(preset: str, perceiver: str, volume: np.ndarray, tmp_path: Path) -> None:
    cfg = get_config(preset, perceiver=perceiver)
    model = build_vision_model(cfg, seed=3)
    if model.scan.location is not None:  # trained-like codes and gate, so the graph must carry them
        with torch.no_grad():
            model.scan.location.codes.normal_()
            model.scan.location.head.weight.normal_(std=0.1)
            model.scan.location.head.bias.zero_()
    graphs = export_vision(model, tmp_path)
    rt = VisionRuntime(graphs.scan, graphs.question)
    assert rt.providers[0] in ("CPUExecutionProvider", "CUDAExecutionProvider")
    assert rt.n_slices == cfg.n_slices  # read from the graph's input
    got = rt.encode_scan(volume)
    with torch.inference_mode():
        want = model.scan(torch.from_numpy(volume))
    for name, w in zip(("image_tokens_3d", "slice_tokens_2d", "slice_features"), want):
        _close(name, got[name], w.numpy())
    assert got["image_tokens_3d"].shape == (1, cfg.n_tokens_3d, 640)
    # the tokens must depend on the scan: a different input gives different tokens
    other = rt.encode_scan(np.flip(volume, axis=2).copy())
    assert np.abs(other["image_tokens_3d"] - got["image_tokens_3d"]).max() > 1e-3


@pytest.mark.parametrize("mode,extra", [
    ("tgis", {}),
    ("tgis", {"temperature": 5.0, "proj_dim": 128}),  # the released code's variant
    ("average", {}),
    ("max", {}),
    ("random", {}),
])
def test_question_graph_matches_torch(mode: str, extra: dict, volume: np.ndarray,
                                      tmp_path: Path) -> None:
    cfg = get_config("tiny", tgis_mode=mode, **extra)
    model = build_vision_model(cfg, seed=4)
    graphs = export_vision(model, tmp_path)
    rt = VisionRuntime(graphs.scan, graphs.question)
    text = _text_vector()
    scan = rt.encode_scan(volume)
    res = rt.ask(scan, text, seed=7)
    rand = np.random.default_rng(7).uniform(1e-3, 1.0, size=(1, 32)).astype(np.float32)
    with torch.inference_mode():
        s, tok = model(torch.from_numpy(volume), torch.from_numpy(text), torch.from_numpy(rand))
    _close("slice_scores", res.slice_scores, s[0].numpy())
    _close("image_tokens", res.image_tokens, tok[0].numpy())
    assert res.slice_scores.shape == (32,)
    assert res.image_tokens.shape == (cfg.n_tokens_3d + cfg.n_tokens_2d, 640)
    assert abs(float(res.slice_scores.sum()) - 1.0) < 1e-5
