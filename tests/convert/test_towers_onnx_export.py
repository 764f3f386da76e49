"""The export helper: one-file and external-data graphs, metadata, both exporters, and the
difference measure."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from torch import nn
from towers_refs import ONNX_TOL, randomize

from convert.towers.onnx_export import export_graph, max_rel_diff, parameter_bytes, run_onnx


class _Two(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(64, 256), nn.Linear(256, 8)

    def forward(self, x):
        h = torch.nn.functional.gelu(self.a(x))
        return self.b(h), h.mean(dim=-1)


@pytest.mark.parametrize("external", [False, True])
def test_graph_round_trip_with_and_without_external_data(tmp_path, external):
    m = randomize(_Two(), seed=14)
    x = torch.randn(3, 64)
    g = export_graph(m, (x,), tmp_path / "g.onnx", ("x",), ("y", "h"), external_data=external,
                     metadata={"ctchat.vision.graph": "test"})
    data = tmp_path / "g.onnx.data"
    assert g.external_data == external and data.exists() == external
    files = ["g.onnx", "g.onnx.data"] if external else ["g.onnx"]
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    meta = {p.key: p.value for p in onnx.load(str(g.path), load_external_data=False).metadata_props}
    assert meta == {"ctchat.vision.graph": "test"}
    with torch.no_grad():
        ref = [t.numpy() for t in m(x)]
    got = run_onnx(g.path, {"x": x.numpy()})
    assert [r.dtype for r in got] == [np.float32, np.float32]
    assert max(max_rel_diff(a, b) for a, b in zip(got, ref)) < ONNX_TOL


def test_dynamo_exporter_gives_the_same_numbers(tmp_path):
    m = randomize(_Two(), seed=15)
    x = torch.randn(3, 64)
    g = export_graph(m, (x,), tmp_path / "d.onnx", ("x",), ("y", "h"), dynamo=True)
    with torch.no_grad():
        ref = [t.numpy() for t in m(x)]
    assert g.exporter == "dynamo"
    assert max(max_rel_diff(a, b) for a, b in zip(run_onnx(g.path, {"x": x.numpy()}), ref)) < ONNX_TOL


def test_difference_measure_and_sizes():
    ref = np.array([1.0, -4.0, 0.0])
    assert max_rel_diff(ref + np.array([0.0, 0.0, 0.4]), ref) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="shapes differ"):
        max_rel_diff(np.zeros(2), np.zeros(3))
    assert parameter_bytes(nn.Linear(10, 10)) == 110 * 4
