"""ONNX export of the vision side as two graphs: ``scan.onnx`` (once per scan) and
``question.onnx`` (per question, small).

Graph contract (all float32, static shapes fixed by the config):

* scan: ``volume`` (1, 1, D, H, W) -> ``image_tokens_3d`` (1, N3, hidden),
  ``slice_tokens_2d`` (1, D, L2, hidden), ``slice_features`` (1, D, hidden).
* question: the inputs its TG-IS mode reads, from ``image_tokens_3d``, ``slice_tokens_2d``,
  ``slice_features``, ``text_vector`` (1, hidden), ``random_scores`` (1, D) ->
  ``slice_scores`` (1, D), ``image_tokens`` (1, N3 + L2, hidden).

We use the TorchScript exporter (``dynamo=False``) by default: it writes one self-contained file
and exports the tiny config in ~2-5 s, against ~40 s for the dynamo exporter (which also writes
an external ``.onnx.data`` weight file by default); both give the same numbers (max abs
difference to torch ~1e-6). torch 2.13 marks the TorchScript exporter deprecated, so
``export_vision(..., dynamo=True)`` switches to the dynamo exporter (weights kept inside the
file; opset 18).
Each graph carries metadata (``ctchat.*`` keys) with the config, its role and its inputs.

The scan graph is written with ONNX Runtime's transformer fusions applied (``fuse=True``, the
default; :mod:`training.export.fusion`): one ``Attention`` op per block, ``SkipLayerNormalization``
and ``BiasGelu``; the counts are in its ``ctchat.vision.fusions`` metadata. The fused ops are
ONNX Runtime's own (``com.microsoft`` domain): the graph runs in ORT, not in other runtimes.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from training.export.fusion import fusable_copy, fuse_graph
from training.models.config import VisionConfig
from training.models.vision_model import VisionModel

OPSET = 17
SCAN_INPUTS = ("volume",)
SCAN_OUTPUTS = ("image_tokens_3d", "slice_tokens_2d", "slice_features")
QUESTION_OUTPUTS = ("slice_scores", "image_tokens")
_MODE_INPUTS = {
    "tgis": ("image_tokens_3d", "slice_tokens_2d", "slice_features", "text_vector"),
    "average": ("image_tokens_3d", "slice_tokens_2d"),
    "max": ("image_tokens_3d", "slice_tokens_2d"),
    "random": ("image_tokens_3d", "slice_tokens_2d", "random_scores"),
}


def question_inputs(mode: str) -> tuple[str, ...]:
    """Input names of the question graph for a TG-IS mode (unused inputs are left out)."""
    return _MODE_INPUTS[mode]


class _QuestionGraph(nn.Module):
    """Adapts :class:`TGISHead` to the positional inputs of one mode."""

    def __init__(self, model: VisionModel) -> None:
        super().__init__()
        self.head = model.question
        self.names = question_inputs(model.cfg.tgis.mode)

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = dict(zip(self.names, args))
        return self.head(a["image_tokens_3d"], a["slice_tokens_2d"], a.get("slice_features"),
                         a.get("text_vector"), a.get("random_scores"))


@dataclass
class ExportedVision:
    """Paths of the exported graphs and what it took."""

    scan: Path
    question: Path
    seconds: float
    fusions: dict[str, int] | None = None  # fused op counts of the scan graph; None: not fused


def example_inputs(cfg: VisionConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random inputs with the graph shapes (for tracing; not for parity checks)."""
    g = torch.Generator().manual_seed(seed)
    d = cfg.n_slices
    return {
        "volume": torch.rand(1, 1, *cfg.vit3d.input_shape, generator=g),
        "image_tokens_3d": torch.randn(1, cfg.n_tokens_3d, cfg.hidden, generator=g),
        "slice_tokens_2d": torch.randn(1, d, cfg.n_tokens_2d, cfg.hidden, generator=g),
        "slice_features": torch.randn(1, d, cfg.hidden, generator=g),
        "text_vector": torch.randn(1, cfg.hidden, generator=g),
        "random_scores": torch.rand(1, d, generator=g) + 1e-3,
    }


def _add_metadata(path: Path, meta: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    model.producer_name = "ctchat"
    onnx.save(model, str(path))
    onnx.checker.check_model(str(path))


def _export(module: nn.Module, args: tuple[torch.Tensor, ...], path: Path,
            inputs: tuple[str, ...], outputs: tuple[str, ...], dynamo: bool = False) -> None:
    if dynamo:
        with torch.no_grad():
            torch.onnx.export(module, args, str(path), dynamo=True, external_data=False,
                              opset_version=max(OPSET, 18), input_names=list(inputs),
                              output_names=list(outputs), verbose=False)
        return
    # shapes are static per config: the tracer's "treated as a constant" warnings are expected
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # torch 2.13 flags this exporter as legacy; the choice is documented at the top
        warnings.filterwarnings("ignore", "The feature will be removed", DeprecationWarning)
        warnings.filterwarnings("ignore", "You are using the legacy TorchScript", DeprecationWarning)
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET,
                          input_names=list(inputs), output_names=list(outputs),
                          do_constant_folding=True)


def export_vision(model: VisionModel, out_dir: str | Path, *, prefix: str = "",
                  dynamo: bool = False, fuse: bool = True) -> ExportedVision:
    """Export ``model`` as ``<prefix>scan.onnx`` and ``<prefix>question.onnx`` in ``out_dir``.

    ``fuse``: write the scan graph with ORT's transformer fusions (``False``: the plain export,
    which ``ctchat bench encoder`` times beside it).

    Example:
        >>> from training.models.config import get_config
        >>> from training.models.vision_model import build_vision_model
        >>> paths = export_vision(build_vision_model(get_config("tiny")), "/tmp/vis")  # doctest: +SKIP
        >>> paths.scan.name, paths.question.name                                      # doctest: +SKIP
        ('scan.onnx', 'question.onnx')
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    model = model.eval()
    ex = example_inputs(cfg)
    t0 = time.perf_counter()
    scan_path, q_path = out / f"{prefix}scan.onnx", out / f"{prefix}question.onnx"
    scan = fusable_copy(model.scan) if fuse else model.scan
    _export(scan, (ex["volume"],), scan_path, SCAN_INPUTS, SCAN_OUTPUTS, dynamo)
    fusions = fuse_graph(scan_path) if fuse else None
    q_in = question_inputs(cfg.tgis.mode)
    _export(_QuestionGraph(model), tuple(ex[n] for n in q_in), q_path, q_in, QUESTION_OUTPUTS, dynamo)
    exporter = "dynamo" if dynamo else "TorchScript (dynamo=False)"
    common = {
        "ctchat.vision.config": cfg.to_json(),
        "ctchat.vision.exporter": f"torch.onnx {exporter}, torch {torch.__version__}",
        "ctchat.vision.opset": str(max(OPSET, 18) if dynamo else OPSET),
    }
    _add_metadata(scan_path, {**common, "ctchat.vision.graph": "scan",
                              "ctchat.vision.inputs": json.dumps(SCAN_INPUTS),
                              "ctchat.vision.outputs": json.dumps(SCAN_OUTPUTS),
                              "ctchat.vision.fusions": json.dumps(fusions)})
    _add_metadata(q_path, {**common, "ctchat.vision.graph": "question",
                           "ctchat.vision.inputs": json.dumps(q_in),
                           "ctchat.vision.outputs": json.dumps(QUESTION_OUTPUTS)})
    return ExportedVision(scan_path, q_path, time.perf_counter() - t0, fusions)
