"""ORT transformer fusions in the exported scan graph (counted, and parity with the unfused
graph and torch), and the int8 scan graph's acceptance against fp32 on the demo CT (image
tokens and the first answer token's logits through the default bundle's LLM)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from inference.bundle import load_bundle  # noqa: E402
from inference.vision.runtime import VisionRuntime  # noqa: E402
from training.export.fusion import op_counts  # noqa: E402
from training.export.onnx_graphs import export_vision  # noqa: E402
from training.export.quantize import INT8_GRAPH, TOLERANCE, accepted, record_int8_graph  # noqa: E402
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
    rt = VisionRuntime.from_dir(tmp_path / "fused", device="cpu")
    assert "Attention 4" in rt.report() and "CPU arena on" in rt.report()


def _bundle_command(argv: list[str]) -> int:
    from training.commands.bundle_build import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="action"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def int8_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A copy of the default bundle (its files stay untouched) with the int8 graph added by
    ``ctchat bundle int8 FOLDER``."""
    root = tmp_path_factory.mktemp("int8") / "default"
    shutil.copytree(load_bundle("default").root, root)
    assert _bundle_command(["int8", str(root)]) == 0
    return root, load_bundle(root).manifest["vision"]["scan_graph_int8"]


def test_the_shipped_bundle_is_never_changed_by_bundle_int8(capsys: pytest.CaptureFixture) -> None:
    before = sorted(p.name for p in load_bundle("default").root.iterdir())
    assert _bundle_command(["int8", "default"]) == 2
    assert "copy the bundle to a folder of your own" in capsys.readouterr().err
    assert sorted(p.name for p in load_bundle("default").root.iterdir()) == before


def test_int8_graph_is_accepted_within_the_stated_tolerance(int8_bundle: tuple[Path, dict]) -> None:
    root, record = int8_bundle
    m = record["measured"]
    assert record["accepted"] and record["tolerance"] == TOLERANCE
    assert 0 < max(m["image_tokens_rel_rms"].values()) <= TOLERANCE["image_tokens_rel_rms"]
    assert 0 <= m["kl_nats"] <= TOLERANCE["kl_nats"] and m["same_top1"]
    bundle = load_bundle(root)  # the int8 file is hash-verified like the others
    assert INT8_GRAPH in bundle.manifest["files"] and bundle.scan_graph_int8 == root / INT8_GRAPH
    assert op_counts(bundle.scan_graph_int8)["MatMulInteger"] > 0
    rt = VisionRuntime(bundle.scan_graph, device="cpu", int8_scan_path=bundle.scan_graph_int8)
    assert rt.scan_graph.name == INT8_GRAPH and INT8_GRAPH in rt.report()
    # the frozen default bundle has no int8 graph: fp32 runs
    assert load_bundle("default").scan_graph_int8 is None


def test_acceptance_rejects_figures_beyond_the_tolerance(int8_bundle: tuple[Path, dict]) -> None:
    m = int8_bundle[1]["measured"]
    assert accepted(m)
    assert not accepted({**m, "kl_nats": 2 * TOLERANCE["kl_nats"]})
    assert not accepted({**m, "same_top1": False})
    worse = {k: 2 * TOLERANCE["image_tokens_rel_rms"] for k in m["image_tokens_rel_rms"]}
    assert not accepted({**m, "image_tokens_rel_rms": worse})


def test_a_rejected_int8_graph_is_recorded_but_not_kept(int8_bundle: tuple[Path, dict], tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    shutil.copytree(int8_bundle[0], root)
    measured = int8_bundle[1]["measured"]
    record = record_int8_graph(root, measured, {**TOLERANCE, "image_tokens_rel_rms": 1e-6})
    assert not record["accepted"] and not (root / INT8_GRAPH).exists()
    bundle = load_bundle(root)  # still verifies: the file left the list too
    assert INT8_GRAPH not in bundle.manifest["files"] and bundle.scan_graph_int8 is None
    assert bundle.manifest["vision"]["scan_graph_int8"]["measured"] == measured
