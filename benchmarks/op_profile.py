"""Where a vision graph's time goes, and how much work it does, read from ONNX Runtime's own
profile of one run.

ONNX Runtime's profiler records every kernel with its duration and the shapes of its inputs
and outputs. The floating-point work of the kernels that dominate a ViT follows from those
shapes (a multiply-add is 2 FLOP, as in torch's FlopCounterMode): matrix products (``MatMul``,
``Gemm`` and the int8 ``MatMulInteger`` / ``DynamicQuantizeMatMul``), convolutions and the fused
``Attention`` or int8 ``QAttention`` (its QKV projection plus the two score products).
Elementwise and normalisation kernels count 0 FLOP: they are bound by memory, not arithmetic.
This works on any bundle's graph, a converted published model's included, without torch. The
machine's fp32 matmul rate the work is set against is measured here too (numpy's BLAS;
``ctchat bench encoder`` adds ONNX Runtime's and torch's own).

Example:
    >>> prof = profile_graph("bundle/scan.onnx", {"volume": array})   # doctest: +SKIP
    >>> f"{prof.gflop:.0f} GFLOP in {prof.ms:.0f} ms"                   # doctest: +SKIP
    '503 GFLOP in 4410 ms'
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

MATMULS = {"MatMul", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "FusedMatMul"}


@dataclass(frozen=True)
class OpTotal:
    """One op type's kernels in one run: calls, milliseconds and GFLOP."""

    op: str
    calls: int
    ms: float
    gflop: float


@dataclass(frozen=True)
class GraphProfile:
    """One profiled run of a graph: per op type, slowest first."""

    ops: list[OpTotal]

    @property
    def ms(self) -> float:
        """Milliseconds in kernels (the run's time less the runtime's own overhead)."""
        return sum(o.ms for o in self.ops)

    @property
    def gflop(self) -> float:
        return sum(o.gflop for o in self.ops)

    def summary(self, top: int = 4) -> str:
        """The slowest op types with their share of the time and their rate, in one line."""
        parts = []
        for o in self.ops[:top]:
            rate = f" at {o.gflop / (o.ms / 1e3):.0f} GFLOP/s" if o.gflop else ""
            parts.append(f"{o.op} {100 * o.ms / self.ms:.0f} %{rate}")
        return ", ".join(parts)


def _shapes(entries: list[dict[str, list[int]]]) -> list[list[int]]:
    return [next(iter(e.values())) for e in entries]


def node_gflop(op: str, inputs: list[list[int]], outputs: list[list[int]]) -> float:
    """GFLOP of one kernel from its input and output shapes (0 for memory-bound kernels)."""
    if not inputs or not outputs:
        return 0.0
    out = math.prod(outputs[0])
    if op in MATMULS or op == "Gemm":  # A (..., M, K): K from A (prepacked weights are not listed)
        return 2 * out * inputs[0][-1] / 1e9
    if op in ("Conv", "ConvInteger", "FusedConv") and len(inputs) > 1:
        return 2 * out * math.prod(inputs[1][1:]) / 1e9  # weight (Cout, Cin / groups, *kernel)
    if op in ("Attention", "QAttention"):  # input (B, S, H) -> (B, S, H'): QKV projection, 2 products
        batch, seq, hidden = inputs[0]
        width = outputs[0][-1]
        return (2 * batch * seq * hidden * 3 * width + 4 * batch * seq * seq * width) / 1e9
    if op == "MultiHeadAttention":  # query (B, S, H), key (B, S_kv, H)
        batch, seq, hidden = inputs[0]
        return 4 * batch * seq * inputs[1][1] * hidden / 1e9
    return 0.0


def read_profile(path: str | Path) -> GraphProfile:
    """Totals per op type from an ONNX Runtime profile file, of its last ``model_run``."""
    events = json.loads(Path(path).read_text())
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    lo, hi = (runs[-1]["ts"], runs[-1]["ts"] + runs[-1]["dur"]) if runs else (0, math.inf)
    totals: dict[str, list[float]] = {}
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time") or not lo <= e["ts"] <= hi:
            continue
        args = e.get("args", {})
        op = args.get("op_name", "?")
        flop = node_gflop(op, _shapes(args.get("input_type_shape", [])), _shapes(args.get("output_type_shape", [])))
        calls, ms, gflop = totals.get(op, (0, 0.0, 0.0))
        totals[op] = [calls + 1, ms + e["dur"] / 1e3, gflop + flop]
    ops = [OpTotal(op, int(c), ms, g) for op, (c, ms, g) in totals.items()]
    return GraphProfile(sorted(ops, key=lambda o: -o.ms))


def profile_graph(path: str | Path, feeds: dict[str, np.ndarray], threads: int | None = None) -> GraphProfile:
    """Run the graph at ``path`` on the CPU twice (a warm-up, then the profiled run) and read
    the profile."""
    from inference.ort import onnxruntime as ort
    from inference.vision.runtime import CPU, session_options

    so = session_options(threads)
    with tempfile.TemporaryDirectory(prefix="ctchat-profile-") as tmp:
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(tmp) / "scan")
        sess = ort.InferenceSession(str(path), sess_options=so, providers=[CPU])
        for _ in range(2):
            sess.run(None, feeds)
        return read_profile(sess.end_profiling())


def median_rate(fn: Callable[[], object], n: int, runs: int) -> float:
    """GFLOP/s of ``fn``, an ``n``-square matrix product: the median of ``runs`` after a warm-up."""
    fn()  # first-touch pages, packed weights, thread pool start
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def numpy_sgemm_rate(threads: int, n: int = 2048, runs: int = 5) -> float:
    """numpy's BLAS (OpenBLAS, with kernels for every x86-64) on an ``n``-square fp32 product at
    ``threads``; NaN where its thread count cannot be set (no threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return float("nan")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        return median_rate(lambda: a @ b, n, runs)
