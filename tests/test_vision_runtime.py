"""ONNX Runtime sessions: provider choice and report, CPU thread settings, graph metadata, and
the ``bench encoder`` command end to end (tiny, 1 run)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("inference.ort").onnxruntime
pytest.importorskip("torch")

from inference.vision import runtime as rtm  # noqa: E402
from training.models.config import get_config  # noqa: E402


def test_provider_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rtm.requested_providers("cpu") == [rtm.CPU]
    monkeypatch.setattr(ort, "get_available_providers", lambda: [rtm.CPU])
    assert rtm.requested_providers("auto") == [rtm.CPU]
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        rtm.requested_providers("cuda")
    monkeypatch.setattr(ort, "get_available_providers", lambda: [rtm.CUDA, rtm.CPU])
    got = rtm.requested_providers("auto")
    assert got[0][0] == rtm.CUDA and got[-1] == rtm.CPU  # CPU stays as the fallback
    assert rtm.requested_providers("cpu") == [rtm.CPU]
    with pytest.raises(ValueError):
        rtm.requested_providers("tpu")


def test_session_options_are_tuned_for_the_cpu() -> None:
    so = rtm.session_options()
    assert so.intra_op_num_threads == rtm.physical_cores() >= 1
    assert so.inter_op_num_threads == 1
    assert so.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert rtm.session_options(threads=1).intra_op_num_threads == 1


def test_runtime_reports_what_really_runs(tmp_path: Path) -> None:
    import onnx

    from training.export.onnx_graphs import export_vision
    from training.models.vision_model import build_vision_model

    cfg = get_config("tiny", perceiver="conv3d")
    paths = export_vision(build_vision_model(cfg), tmp_path)
    meta = {p.key: p.value for p in onnx.load(str(paths.question)).metadata_props}
    assert meta["ctchat.vision.graph"] == "question"
    assert json.loads(meta["ctchat.vision.inputs"]) == ["image_tokens_3d", "slice_tokens_2d",
                                                        "slice_features", "text_vector"]
    assert paths.question.stat().st_size < paths.scan.stat().st_size / 20  # the per-question graph is small
    rt = rtm.VisionRuntime(paths.scan, paths.question)
    sess = rt.scan_session
    assert rt.providers == sess.get_providers()  # read back, not what was asked for
    assert sess.get_session_options().intra_op_num_threads == rtm.physical_cores()
    assert str(rt.providers) in rt.report()
    assert [i.name for i in sess.get_inputs()] == ["volume"]
    assert sess.get_inputs()[0].shape == [1, 1, 32, 64, 64]
    with pytest.raises(ValueError, match="text_vector"):
        rt.ask(rt.encode_scan(np.zeros((1, 1, 32, 64, 64), np.float32)))


def test_bench_encoder_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from benchmarks import encoder as bench

    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers(dest="target"))
    out = tmp_path / "bench.json"
    args = parser.parse_args(["encoder", "--config", "tiny", "--runs", "1", "--warmup", "0",
                              "--device", "cpu", "--json", str(out)])
    assert args.func(args) == 0
    rows = json.loads(out.read_text())
    assert [r["graph"] for r in rows] == ["scan", "question", "scan int8"]
    for r in rows:
        assert r["torch_ms"] > 0 and r["ort_ms"] > 0
        assert r["max_abs_diff"] < (1e-4 if r["graph"] != "scan int8" else 1.0)
        assert r["providers"][0] == "CPUExecutionProvider"
        assert r["gflop"] > 0 and r["peak_gflops_per_s"] > 0
        assert r["ort_gflops_per_s"] == pytest.approx(r["gflop"] / (r["ort_ms"] / 1e3))
    assert rows[0]["gflop"] > rows[1]["gflop"]  # the scan graph is the heavy one
    int8 = rows[2]["rel_rms"]
    assert set(int8) == {"image_tokens_3d", "slice_tokens_2d", "slice_features"}
    assert all(0 < v < 0.03 for v in int8.values())  # the bundle's acceptance bound
    text = capsys.readouterr().out
    assert "int8 scan graph: image-token rel-RMS" in text and "within" in text
    assert "ORT scan time (its profiler): " in text and "Attention" in rows[0]["ort_time_by_op"]
    assert "torch/ORT" in text and "CPUExecutionProvider" in text and "of peak" in text


def test_bench_flop_count_and_peak_are_real_measures() -> None:
    import torch

    from benchmarks.encoder import counted_gflop
    from benchmarks.matmul_peak import best_rate, matmul_rates

    a, b = torch.randn(64, 128), torch.randn(128, 32)
    assert counted_gflop(lambda: a @ b) == pytest.approx(2 * 64 * 128 * 32 / 1e9)
    q = torch.randn(1, 12, 256, 64)  # attention's two products count on the CPU too
    sdpa = torch.nn.functional.scaled_dot_product_attention
    with torch.inference_mode():
        assert counted_gflop(lambda: sdpa(q, q, q)) == pytest.approx(4 * 256 * 256 * 768 / 1e9)
    rates = matmul_rates(1, n=256, runs=3)
    assert 0.1 < best_rate(rates) < 1e4
    assert rates["ONNX Runtime MLAS"] > 0.1 and rates["torch"] > 0.1  # both stacks the graphs run on
