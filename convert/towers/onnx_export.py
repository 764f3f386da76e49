"""ONNX export of one vision graph (float32, static shapes) and its ONNX Runtime parity check.

Like ``inference/vision/export.py`` we default to the TorchScript exporter (``dynamo=False``,
opset 17): it is several times faster than the dynamo exporter on these graphs and writes one
file; ``dynamo=True`` switches to the dynamo exporter (opset 18). Graphs whose weights pass
``EXTERNAL_DATA_BYTES`` are re-saved with all weights in one ``<name>.data`` file beside the
graph (protobuf caps one file at 2 GiB); Med-2E3's scan graph (SigLIP-L + ViT, ~1.7 GB) is the
only published one near it.

Example:
    >>> from torch import nn
    >>> import torch, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> g = export_graph(nn.Linear(3, 2), (torch.rand(1, 3),), d / "lin.onnx", ("x",), ("y",))
    >>> g.path.name, g.external_data
    ('lin.onnx', False)
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

OPSET = 17
EXTERNAL_DATA_BYTES = 1_500_000_000


@dataclass
class ExportedGraph:
    """Where a graph went, whether its weights sit in ``<name>.data``, and what it took."""

    path: Path
    external_data: bool
    seconds: float
    exporter: str


def parameter_bytes(module: nn.Module) -> int:
    """Bytes of the module's parameters and buffers (an upper bound of the graph's weights)."""
    tensors = list(module.parameters()) + list(module.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def _torchscript_export(module: nn.Module, args: tuple, path: Path, inputs: Sequence[str],
                        outputs: Sequence[str]) -> None:
    # static shapes: the tracer's "treated as a constant" warnings are expected
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)  # legacy exporter, chosen
        warnings.filterwarnings("ignore", category=UserWarning)  # transformers' tracing notes
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET,
                          input_names=list(inputs), output_names=list(outputs),
                          do_constant_folding=True)


def _dynamo_export(module: nn.Module, args: tuple, path: Path, inputs: Sequence[str],
                   outputs: Sequence[str]) -> None:
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), dynamo=True, external_data=False,
                          opset_version=max(OPSET, 18), input_names=list(inputs),
                          output_names=list(outputs), verbose=False)


def _save(model, path: Path, external: bool, metadata: Mapping[str, str]) -> None:
    import onnx

    for k, v in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    model.producer_name = "ctchat"
    data = path.with_name(path.name + ".data")
    if data.exists():
        data.unlink()
    if external:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data.name, size_threshold=1024)
    else:
        onnx.save_model(model, str(path))
    onnx.checker.check_model(str(path))


def export_graph(module: nn.Module, args: tuple[torch.Tensor, ...], path: str | Path,
                 input_names: Sequence[str], output_names: Sequence[str], *,
                 dynamo: bool = False, external_data: bool | None = None,
                 metadata: Mapping[str, str] | None = None) -> ExportedGraph:
    """Export ``module`` (in eval mode) traced on ``args`` to ``path``.

    ``external_data=None`` decides by :func:`parameter_bytes`; ``metadata`` goes into the
    graph's ``metadata_props``.
    """
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    external = parameter_bytes(module) > EXTERNAL_DATA_BYTES if external_data is None else external_data
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        raw = Path(tmp) / path.name
        (_dynamo_export if dynamo else _torchscript_export)(module, args, raw, input_names, output_names)
        model = onnx.load(str(raw), load_external_data=True)
        _save(model, path, external, dict(metadata or {}))
    exporter = "dynamo" if dynamo else "torchscript"
    return ExportedGraph(path, external, time.perf_counter() - t0, exporter)


def run_onnx(path: str | Path, inputs: Mapping[str, np.ndarray],
             threads: int | None = None) -> list[np.ndarray]:
    """Run a graph once on the CPU provider; outputs in the graph's order."""
    from inference.ort import onnxruntime as ort

    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return sess.run(None, dict(inputs))


def max_rel_diff(got: np.ndarray, ref: np.ndarray) -> float:
    """``max |got - ref| / max |ref|``: the largest error relative to the output's scale
    (an element-wise ratio blows up where the reference crosses zero)."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        raise ValueError(f"shapes differ: {got.shape} vs {ref.shape}")
    scale = float(np.abs(ref).max()) or 1.0
    return float(np.abs(got - ref).max()) / scale
