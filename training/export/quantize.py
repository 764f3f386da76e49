"""An int8 dynamic-quantised scan graph for the CPU, kept only within a stated tolerance of fp32.

``onnxruntime.quantization.quantize_dynamic`` stores the weights of every MatMul and fused
``Attention`` as 8-bit integers (per output channel) and quantises their inputs at run time.
The weights are **unsigned** (U8U8): ONNX Runtime's int8 kernels on x86 CPUs without VNNI
(AVX2 only, like this project's test machine) add u8 x s8 products in 16-bit lanes that
saturate, which on the tiny model gave 20 % RMS error on the image tokens with signed weights
against 1.5 % with unsigned ones (``reduce_range`` also avoids it, at 2 %).

Acceptance (:data:`TOLERANCE`), measured on the demo CT with one question through the bundle's
own LLM (:meth:`inference.chat.session.ChatSession.first_token_logits`):

* image tokens: the RMS of the int8 - fp32 difference over the RMS of fp32, for each output of
  the scan graph (the 3D tokens, the 2D slice tokens and the slice features), at most 3 %;
* answer logits: the first answer token's distribution, KL(fp32 || int8) at most 0.01 nats,
  and the same most likely token.

Example:
    >>> record = add_int8_graph("bundles/mine")          # doctest: +SKIP
    >>> record["accepted"], record["measured"]["kl_nats"]  # doctest: +SKIP
    (True, 0.0003)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from inference.bundle import MANIFEST, load_bundle, write_manifest

INT8_GRAPH = "scan.int8.onnx"
TOLERANCE = {"image_tokens_rel_rms": 0.03, "kl_nats": 0.01, "same_top1": True}
QUESTION = "Is there a nodule in the right upper lobe?"


def quantize_scan(fp32: str | Path, out: str | Path) -> Path:
    """Write the dynamic-quantised version of the scan graph ``fp32`` to ``out``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), op_types_to_quantize=["MatMul", "Attention"],
                     weight_type=QuantType.QUInt8, per_channel=True,
                     # the fused ops' outputs have no inferred type; they are float32
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return Path(out)


def rel_rms(ref: np.ndarray, got: np.ndarray) -> float:
    """RMS of ``got - ref`` over the RMS of ``ref``."""
    ref, got = ref.astype(np.float64), got.astype(np.float64)
    return float(np.sqrt(np.mean((got - ref) ** 2)) / max(np.sqrt(np.mean(ref ** 2)), 1e-30))


def kl_nats(ref_logits: np.ndarray, got_logits: np.ndarray) -> float:
    """KL(softmax(ref) || softmax(got)) in nats."""
    def log_softmax(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64) - x.max()
        return x - np.log(np.exp(x).sum())
    lp, lq = log_softmax(ref_logits), log_softmax(got_logits)
    return float(np.sum(np.exp(lp) * (lp - lq)))


def measure_int8(bundle: Any, int8_graph: str | Path, volume: Any, question: str = QUESTION,
                 threads: int | None = None) -> dict[str, Any]:
    """The int8 scan graph against the bundle's fp32 one on ``volume`` (a loaded CT): each scan
    output's relative RMS error and the first answer token's logits (KL, top-1)."""
    from inference.chat.session import ChatSession
    from inference.preprocess import preprocess

    array = preprocess(volume, bundle.recipe).array
    chat = ChatSession(bundle, device="cpu", n_threads=threads)
    try:
        outputs, logits = [], []
        for graph in (bundle.scan_graph, int8_graph):
            chat.vision.use_scan_graph(graph)
            outputs.append(chat.vision.encode_scan(array))
            chat.load_scan(volume)
            logits.append(chat.first_token_logits(question))
    finally:
        chat.close()
    errors = {name: rel_rms(outputs[0][name], outputs[1][name]) for name in outputs[0]}
    return {"image_tokens_rel_rms": errors, "kl_nats": kl_nats(*logits),
            "same_top1": bool(np.argmax(logits[0]) == np.argmax(logits[1])),
            "logits_max_abs_diff": float(np.abs(logits[0] - logits[1]).max()),
            "question": question}


def accepted(measured: dict[str, Any], tolerance: dict[str, Any] = TOLERANCE) -> bool:
    """Whether ``measured`` (from :func:`measure_int8`) lies within ``tolerance``."""
    return (max(measured["image_tokens_rel_rms"].values()) <= tolerance["image_tokens_rel_rms"]
            and measured["kl_nats"] <= tolerance["kl_nats"]
            and (measured["same_top1"] or not tolerance["same_top1"]))


def add_int8_graph(bundle_path: str | Path, scan: str | Path | None = None, threads: int | None = None,
                   tolerance: dict[str, Any] = TOLERANCE) -> dict[str, Any]:
    """Quantise a bundle's scan graph, measure it on ``scan`` (default: the demo CT) and record
    the result (:func:`record_int8_graph`)."""
    from inference.io import load_volume
    from inference.resources import DEMO_CT

    root = Path(bundle_path)
    bundle = load_bundle(root)
    int8 = quantize_scan(bundle.scan_graph, root / INT8_GRAPH)
    measured = measure_int8(bundle, int8, load_volume(scan or DEMO_CT), threads=threads)
    return record_int8_graph(root, measured, tolerance)


def record_int8_graph(root: Path, measured: dict[str, Any], tolerance: dict[str, Any] = TOLERANCE) -> dict[str, Any]:
    """Record ``measured`` and the verdict in the manifest (``vision.scan_graph_int8``). The
    graph (``root / INT8_GRAPH``) is kept, and listed among the verified files, only when
    accepted within ``tolerance``; a rejected one is deleted, its figures kept."""
    ok = accepted(measured, tolerance)
    manifest = json.loads((root / MANIFEST).read_text())
    record = {"file": INT8_GRAPH, "accepted": ok, "tolerance": tolerance, "measured": measured,
              "method": "onnxruntime quantize_dynamic: MatMul and Attention weights uint8 per channel"}
    manifest["vision"]["scan_graph_int8"] = record
    files = [f for f in manifest["files"] if f != INT8_GRAPH]
    if ok:
        files.append(INT8_GRAPH)
    else:
        (root / INT8_GRAPH).unlink(missing_ok=True)
    write_manifest(root, manifest, files)
    return record
