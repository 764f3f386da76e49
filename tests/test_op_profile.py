"""FLOPs read from ONNX Runtime's profile of a vision graph agree with torch's own count, and
the per-op totals add up to the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.encoder import counted_gflop  # noqa: E402
from benchmarks.op_profile import node_gflop, numpy_sgemm_rate, profile_graph  # noqa: E402
from training.export.onnx_graphs import export_vision  # noqa: E402
from training.export.scan_variants import quantize_scan  # noqa: E402
from training.models.config import get_config  # noqa: E402
from training.models.vision_model import build_vision_model  # noqa: E402


def test_shape_rules_count_multiply_adds_twice() -> None:
    assert node_gflop("MatMul", [[1, 2048, 768]], [[1, 2048, 2304]]) == pytest.approx(
        2 * 2048 * 768 * 2304 / 1e9)
    # a 3D patch embedding: kernel = stride = (4, 16, 16), 1 -> 768 channels, 8 x 16 x 16 patches
    assert node_gflop("Conv", [[1, 1, 32, 256, 256], [768, 1, 4, 16, 16]], [[1, 768, 8, 16, 16]]) == pytest.approx(
        2 * 768 * 8 * 16 * 16 * 4 * 16 * 16 / 1e9)
    # the profiler lists a prepacked weight no more: shapes as ONNX Runtime 1.32 records them
    s, h = 2048, 768  # fused attention: the QKV projection and the two score products
    assert node_gflop("Attention", [[1, s, h], [3 * h]], [[1, s, h]]) == pytest.approx(
        (2 * s * h * 3 * h + 4 * s * s * h) / 1e9)
    assert node_gflop("LayerNormalization", [[1, s, h]], [[1, s, h]]) == 0


def test_profiled_flops_match_torch_and_the_int8_graph_does_the_same_work(tmp_path: Path) -> None:
    cfg = get_config("tiny")
    model = build_vision_model(cfg).eval()
    exported = export_vision(model, tmp_path)
    volume = np.random.default_rng(0).random((1, 1, *cfg.vit3d.input_shape), dtype=np.float32)
    with torch.inference_mode():
        want = counted_gflop(lambda: model.scan(torch.from_numpy(volume)))
    prof = profile_graph(exported.scan, {"volume": volume}, threads=1)
    assert prof.gflop == pytest.approx(want, rel=0.03)
    assert {o.op for o in prof.ops} >= {"Attention", "MatMul"} and prof.ms > 0
    assert prof.ops == sorted(prof.ops, key=lambda o: -o.ms)  # slowest first
    assert "Attention" in prof.summary(top=len(prof.ops)) and "GFLOP/s" in prof.summary()
    int8 = profile_graph(quantize_scan(exported.scan, tmp_path / "scan.int8.onnx"), {"volume": volume}, threads=1)
    assert int8.gflop == pytest.approx(prof.gflop, rel=0.03)  # the same products, in 8 bits
    assert any(o.op in ("MatMulInteger", "DynamicQuantizeMatMul") for o in int8.ops)


def test_numpy_sgemm_rate_is_a_real_measure() -> None:
    assert 0.1 < numpy_sgemm_rate(1, n=256, runs=3) < 1e4
