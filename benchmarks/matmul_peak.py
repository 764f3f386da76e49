"""The machine's fp32 matmul peak, measured with each sgemm the vision stack can use.

A single library's rate is not the machine's: torch's MKL, ONNX Runtime's MLAS (what the
exported graphs run on) and numpy's OpenBLAS pick different kernels, and on this project's
2-core AMD EPYC they read between 72 and 155 GFLOP/s within minutes of each other. The peak the
benchmarks set their graphs against is the best rate any of them reaches on an ``n``-square
product at the same thread count, measured in the same run; each library's figure is printed
beside it.
"""

from __future__ import annotations

import numpy as np

from .op_profile import median_rate as _median_rate
from .op_profile import numpy_sgemm_rate as _numpy_rate


def _torch_rate(threads: int, n: int, runs: int) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    return _median_rate(lambda: torch.mm(a, b), n, runs)


def _ort_rate(threads: int, n: int, runs: int) -> float:
    """ONNX Runtime's MatMul with a constant right-hand side, as in a ViT's linear layers."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from inference.ort import onnxruntime as ort

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((n, n), dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "w"], ["y"])], "sgemm",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, onnx.IR_VERSION)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    a = rng.standard_normal((n, n), dtype=np.float32)
    return _median_rate(lambda: sess.run(None, {"a": a}), n, runs)


def matmul_rates(threads: int, n: int = 2048, runs: int = 5) -> dict[str, float]:
    """GFLOP/s of an ``n``-square fp32 product per library at ``threads`` (median of ``runs``);
    NaN for a library that cannot be measured here."""
    rates = {}
    for name, fn in (("ONNX Runtime MLAS", _ort_rate), ("torch", _torch_rate), ("numpy BLAS", _numpy_rate)):
        try:
            rates[name] = fn(threads, n, runs)
        except ImportError:
            rates[name] = float("nan")
    return rates


def best_rate(rates: dict[str, float]) -> float:
    """The highest measured rate in ``rates`` (NaNs left out)."""
    return max(r for r in rates.values() if r == r)
