"""ORT transformer fusions in the exported scan graph (counted, and parity with the unfused
graph and torch), and the reduced-precision scan graphs (int8 for the CPU, fp16 for CUDA):
their acceptance against fp32 on the demo CT (image tokens and the first answer token's logits
through the default bundle's LLM) and which graph the runtime picks for the provider that runs."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("inference.ort").onnxruntime
torch = pytest.importorskip("torch")

import inference.vision.runtime as vision_runtime  # noqa: E402
from inference.bundle import load_bundle  # noqa: E402
from inference.vision.runtime import CPU, CUDA, VisionRuntime  # noqa: E402
from training.export.fusion import op_counts  # noqa: E402
from training.export.onnx_graphs import export_vision  # noqa: E402
from training.export.scan_variants import VARIANTS, accepted, record_scan_variant  # noqa: E402
from training.models.config import get_config  # noqa: E402
from training.models.vision_model import build_vision_model  # noqa: E402

PARITY = 1e-4  # max |fused - unfused| of the scan outputs (float32 reassociation only)


def test_scan_graph_is_exported_fused_and_matches_the_unfused_one(tmp_path: Path) -> None:
    cfg = get_config("tiny")
    model = build_vision_model(cfg).eval()
    fused = export_vision(model, tmp_path / "fused")
    plain = export_vision(model, tmp_path / "plain", fuse=False)
    blocks = cfg.vit3d.depth + cfg.slice_encoder.depth
    assert fused.fusions["Attention"] == blocks  # every block's self-attention is one op
    assert fused.fusions["SkipLayerNormalization"] >= 2 * blocks - 1
    assert fused.fusions["BiasGelu"] >= blocks
    counts = op_counts(fused.scan)
    assert counts["Softmax"] == 0 and counts["Erf"] == 0  # nothing left unfused in the towers
    assert op_counts(plain.scan)["Attention"] == 0 and plain.fusions is None
    volume = np.random.default_rng(0).random((1, 1, *cfg.vit3d.input_shape), dtype=np.float32)
    got = VisionRuntime(fused.scan, device="cpu").encode_scan(volume)
    ref = VisionRuntime(plain.scan, device="cpu").encode_scan(volume)
    with torch.no_grad():
        eager = [t.numpy() for t in model.scan(torch.from_numpy(volume))]
    for name, want in zip(("image_tokens_3d", "slice_tokens_2d", "slice_features"), eager):
        assert np.abs(got[name] - ref[name]).max() < PARITY
        assert np.abs(got[name] - want).max() < PARITY
    rt = VisionRuntime(fused.scan, fused.question, device="cpu")
    assert "Attention 4" in rt.report() and "CPU arena on" in rt.report()


def _bundle_command(argv: list[str]) -> int:
    from training.commands.bundle_build import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="action"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module", params=["int8", "fp16"])
def variant_bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, dict]:
    """A copy of the default bundle (its files stay untouched) with the int8 or fp16 scan graph
    added by ``ctchat bundle int8|fp16 FOLDER``."""
    kind = request.param
    root = tmp_path_factory.mktemp(kind) / "default"
    shutil.copytree(load_bundle("default").root, root)
    assert _bundle_command([kind, str(root)]) == 0
    return kind, root, load_bundle(root).manifest["vision"][VARIANTS[kind].key]


@pytest.mark.parametrize("kind", ["int8", "fp16"])
def test_the_shipped_bundle_is_never_changed(kind: str, capsys: pytest.CaptureFixture) -> None:
    before = sorted(p.name for p in load_bundle("default").root.iterdir())
    assert _bundle_command([kind, "default"]) == 2
    assert "copy the bundle to a folder of your own" in capsys.readouterr().err
    assert sorted(p.name for p in load_bundle("default").root.iterdir()) == before
    # the frozen default bundle has no reduced-precision graph: fp32 runs
    assert load_bundle("default").scan_variant(kind) is None


def test_variant_is_accepted_within_its_stated_tolerance(variant_bundle: tuple[str, Path, dict]) -> None:
    import onnx

    kind, root, record = variant_bundle
    m, tol = record["measured"], VARIANTS[kind].tolerance
    assert record["accepted"] and record["tolerance"] == tol
    assert 0 < max(m["image_tokens_rel_rms"].values()) <= tol["image_tokens_rel_rms"]
    assert 0 <= m["kl_nats"] <= tol["kl_nats"] and m["same_top1"]
    bundle = load_bundle(root)  # the variant's file is hash-verified like the others
    path = bundle.scan_variant(kind)
    assert path == root / VARIANTS[kind].file and VARIANTS[kind].file in bundle.manifest["files"]
    graph = onnx.load(str(path))
    if kind == "int8":
        assert op_counts(path)["MatMulInteger"] > 0
    else:  # half-precision weights, float32 in and out (what the question graph and the LLM take)
        types = {t.data_type for t in graph.graph.initializer if len(t.dims) == 2}
        assert types == {onnx.TensorProto.FLOAT16}
    io = [v.type.tensor_type.elem_type for v in (*graph.graph.input, *graph.graph.output)]
    assert set(io) == {onnx.TensorProto.FLOAT}


def test_the_runtime_runs_int8_on_the_cpu_and_never_fp16_there(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fp32 = load_bundle("default").scan_graph
    int8, fp16 = tmp_path / VARIANTS["int8"].file, tmp_path / VARIANTS["fp16"].file
    VARIANTS["int8"].make(fp32, int8), VARIANTS["fp16"].make(fp32, fp16)
    rt = VisionRuntime(fp32, device="cpu", int8_scan_path=int8, fp16_scan_path=fp16)
    assert rt.scan_graph == int8 and int8.name in rt.report()
    assert VisionRuntime(fp32, device="cpu", fp16_scan_path=fp16).scan_graph == fp32
    # CUDA asked for (as "auto" does where onnxruntime-gpu is installed) but not obtained: the
    # session runs on the CPU, so the runtime goes back to what the CPU runs
    monkeypatch.setattr(vision_runtime, "requested_providers", lambda device="auto": [(CUDA, {"device_id": 0}), CPU])
    with pytest.warns(UserWarning, match="CUDAExecutionProvider"):
        fallback = VisionRuntime(fp32, device="auto", int8_scan_path=int8, fp16_scan_path=fp16)
    assert fallback.providers[0] == CPU and fallback.scan_graph == int8
    with pytest.warns(UserWarning, match="CUDAExecutionProvider"):
        assert VisionRuntime(fp32, device="auto", fp16_scan_path=fp16).scan_graph == fp32


def test_acceptance_rejects_figures_beyond_the_tolerance(variant_bundle: tuple[str, Path, dict]) -> None:
    kind, _, record = variant_bundle
    m, tol = record["measured"], VARIANTS[kind].tolerance
    assert accepted(m, tol)
    assert not accepted({**m, "kl_nats": 2 * tol["kl_nats"]}, tol)
    assert not accepted({**m, "same_top1": False}, tol)
    worse = {k: 2 * tol["image_tokens_rel_rms"] for k in m["image_tokens_rel_rms"]}
    assert not accepted({**m, "image_tokens_rel_rms": worse}, tol)


def test_a_rejected_variant_is_recorded_but_not_kept(variant_bundle: tuple[str, Path, dict], tmp_path: Path) -> None:
    kind, source, record = variant_bundle
    root = tmp_path / "bundle"
    shutil.copytree(source, root)
    file = VARIANTS[kind].file
    stricter = {**VARIANTS[kind].tolerance, "image_tokens_rel_rms": 1e-9}
    rejected = record_scan_variant(root, kind, record["measured"], stricter)
    assert not rejected["accepted"] and not (root / file).exists()
    bundle = load_bundle(root)  # still verifies: the file left the list too
    assert file not in bundle.manifest["files"] and bundle.scan_variant(kind) is None
    assert bundle.manifest["vision"][VARIANTS[kind].key]["measured"] == record["measured"]
