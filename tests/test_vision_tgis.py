"""Properties of TG-IS scoring (Med-2E3) and its ablations, in torch and in the exported graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.models.config import (
    TGISConfig,  # noqa: E402
    get_config,  # noqa: E402
)
from training.models.tgis import TGISHead, slice_features  # noqa: E402

D, L2, H = 32, 16, 640


def _tokens(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 64, H, generator=g), torch.randn(1, D, L2, H, generator=g)


def _unit_features(seed: int = 0) -> torch.Tensor:
    z = torch.randn(1, D, H, generator=torch.Generator().manual_seed(seed))
    return z / z.norm(dim=-1, keepdim=True)


def test_slice_features_are_the_mean_of_replicated_3d_and_2d_tokens() -> None:
    t3, t2 = _tokens()
    grid = (4, 4, 4)  # 4 depth groups of 8 slices, 16 3D tokens per depth layer
    got = slice_features(t3, t2, grid)
    layers = t3.reshape(1, 4, 16, H)
    for j in (0, 7, 8, 31):
        ref = torch.cat([layers[0, j // 8], t2[0, j]], dim=0).mean(dim=0)  # [z3D_j ; z2D_j]
        torch.testing.assert_close(got[0, j], ref, atol=1e-5, rtol=1e-5)
    # slices of one depth group differ only through their 2D tokens
    assert not torch.allclose(got[0, 0], got[0, 1])
    # without a grid (mixer, Q-Former) every slice sees all 3D tokens
    ref = torch.cat([t3[0], t2[0, 5]], dim=0).mean(dim=0)
    torch.testing.assert_close(slice_features(t3, t2, None)[0, 5], ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("proj_dim", [None, 64])
def test_scores_sum_to_one_and_aggregate_2d_tokens(proj_dim: int | None) -> None:
    head = TGISHead(TGISConfig(proj_dim=proj_dim), H).eval()
    t3, t2 = _tokens(1)
    feats = slice_features(t3, t2, (4, 4, 4))
    text = torch.randn(1, H) * 0.05
    with torch.no_grad():
        s, tok = head(t3, t2, feats, text)
    assert s.shape == (1, D) and bool((s > 0).all())
    torch.testing.assert_close(s.sum(dim=1), torch.ones(1), atol=1e-6, rtol=0)
    torch.testing.assert_close(tok[:, :64], t3)  # 3D tokens first, unchanged
    torch.testing.assert_close(tok[:, 64:], (s[0, :, None, None] * t2[0]).sum(0, keepdim=True),
                               atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("j", [0, 5, 17, 31])
def test_question_matching_a_slice_scores_that_slice_highest(j: int) -> None:
    head = TGISHead(TGISConfig(), H).eval()
    feats = _unit_features()
    text = 10.0 * feats[:, j]  # the question "is" slice j's feature direction
    t3, t2 = _tokens()
    with torch.no_grad():
        s, _ = head(t3, t2, feats, text)
    assert int(s.argmax()) == j
    assert float(s[0, j]) > 0.5  # and clearly so at temperature 1


def test_question_matching_a_slice_through_a_learned_projection() -> None:
    head = TGISHead(TGISConfig(proj_dim=H), H).eval()
    with torch.no_grad():  # orthogonal projections keep directions distinguishable
        torch.nn.init.orthogonal_(head.slice_proj.weight)
        head.text_proj.weight.copy_(head.slice_proj.weight)
        head.slice_proj.bias.zero_()
        head.text_proj.bias.zero_()
        feats = _unit_features(2)
        s, _ = head(*_tokens(), feats, 10.0 * feats[:, 9])
    assert int(s.argmax()) == 9


def test_temperature_flattens_scores() -> None:
    feats, (t3, t2) = _unit_features(), _tokens()
    text = 10.0 * feats[:, 3]
    ent = []
    for temp in (1.0, 5.0):
        with torch.no_grad():
            s, _ = TGISHead(TGISConfig(temperature=temp), H)(t3, t2, feats, text)
        ent.append(float(-(s * s.log()).sum()))
    assert ent[1] > ent[0] + 0.5


def test_ablation_modes() -> None:
    t3, t2 = _tokens(3)
    feats = slice_features(t3, t2, (4, 4, 4))
    with torch.no_grad():
        s, tok = TGISHead(TGISConfig(mode="average"), H)(t3, t2, feats, None)
        torch.testing.assert_close(s, torch.full((1, D), 1 / D))
        torch.testing.assert_close(tok[:, 64:], t2.mean(dim=1), atol=1e-5, rtol=1e-5)
        s, tok = TGISHead(TGISConfig(mode="max"), H)(t3, t2, feats, None)
        torch.testing.assert_close(tok[:, 64:], t2.max(dim=1).values)
        torch.testing.assert_close(s.sum(), torch.tensor(1.0))
        r = torch.rand(1, D) + 0.01
        s, _ = TGISHead(TGISConfig(mode="random"), H)(t3, t2, feats, None, r)
        torch.testing.assert_close(s, r / r.sum())


def test_exported_question_graph_keeps_the_properties(tmp_path: Path) -> None:
    pytest.importorskip("inference.ort")
    from inference.vision.runtime import VisionRuntime
    from training.export.onnx_graphs import export_vision
    from training.models.vision_model import build_vision_model

    model = build_vision_model(get_config("tiny"))
    graphs = export_vision(model, tmp_path)
    rt = VisionRuntime(graphs.scan, graphs.question)
    scan = rt.encode_scan(np.random.default_rng(0).random((1, 1, 32, 64, 64), dtype=np.float32))
    z = scan["slice_features"][0]
    for j in (2, 20):
        # a question whose vector is slice j's feature made distinct from the others: the
        # component of z_j orthogonal to every other slice's feature
        others = np.delete(z, j, axis=0)
        q, _ = np.linalg.qr(others.T)
        direction = z[j] - q @ (q.T @ z[j])
        text = 50.0 * direction / np.linalg.norm(direction)
        res = rt.ask(scan, text)
        assert abs(float(res.slice_scores.sum()) - 1.0) < 1e-5
        assert int(res.slice_scores.argmax()) == j
    # random mode is reproducible per seed (scores are a graph input, drawn by the runtime)
    rmodel = build_vision_model(get_config("tiny", tgis_mode="random"))
    rgraphs = export_vision(rmodel, tmp_path / "r")
    rrt = VisionRuntime(rgraphs.scan, rgraphs.question)
    rs = rrt.encode_scan(np.zeros((1, 1, 32, 64, 64), np.float32))
    a, b, c = rrt.ask(rs, seed=1), rrt.ask(rs, seed=1), rrt.ask(rs, seed=2)
    np.testing.assert_array_equal(a.slice_scores, b.slice_scores)
    assert not np.allclose(a.slice_scores, c.slice_scores)
