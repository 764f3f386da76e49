"""Reduced-precision versions of a bundle's scan graph, each kept only within a stated tolerance
of fp32.

* **int8, for the CPU** (``scan.int8.onnx``): ``onnxruntime.quantization.quantize_dynamic``
  stores the weights of every MatMul and fused ``Attention`` as 8-bit integers (per output
  channel) and quantises their inputs at run time. The weights are **unsigned** (U8U8): ONNX
  Runtime's int8 kernels on x86 CPUs without VNNI (AVX2 only, like this project's test machine)
  add u8 x s8 products in 16-bit lanes that saturate, which on the tiny model gave 20 % RMS
  error on the image tokens with signed weights against 1.5 % with unsigned ones
  (``reduce_range`` also avoids it, at 2 %).
* **fp16, for CUDA** (``scan.fp16.onnx``): ``onnxruntime.transformers``' float16 conversion,
  weights and activations in half precision while the graph's inputs and outputs stay float32
  (``keep_io_types``), so the question graph and the LLM take its outputs as they are. It runs
  only where the CUDA provider runs the scan graph: ONNX Runtime's CPU provider computes it too
  (that is where the tolerance is measured, on any machine), but no faster than fp32.

Acceptance (:data:`TOLERANCES`), measured on the demo CT with one question through the
bundle's own LLM (:meth:`inference.chat.session.ChatSession.first_token_logits`), both graphs
on the CPU provider:

* image tokens: the RMS of the variant - fp32 difference over the RMS of fp32, for each output
  of the scan graph (the 3D tokens, the 2D slice tokens and the slice features);
* answer logits: the first answer token's distribution, KL(fp32 || variant), and the same most
  likely token.

Example:
    >>> record = add_scan_variant("bundles/mine", "int8")   # doctest: +SKIP
    >>> record["accepted"], record["measured"]["kl_nats"]    # doctest: +SKIP
    (True, 0.0003)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.bundle import MANIFEST, SCAN_VARIANTS, load_bundle, write_manifest

QUESTION = "Is there a nodule in the right upper lobe?"


def quantize_scan(fp32: str | Path, out: str | Path) -> Path:
    """Write the dynamic-quantised (int8) version of the scan graph ``fp32`` to ``out``."""
    import onnx

    from inference.ort import ort_tool

    quantization = ort_tool("quantization")
    quantization.quantize_dynamic(str(fp32), str(out), op_types_to_quantize=["MatMul", "Attention"],
                                  weight_type=quantization.QuantType.QUInt8, per_channel=True,
                                  # the fused ops' outputs have no inferred type; they are float32
                                  extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return Path(out)


def half_scan(fp32: str | Path, out: str | Path) -> Path:
    """Write the float16 version of the scan graph ``fp32`` to ``out`` (float32 inputs and
    outputs; one file: the published scan graphs are under 2 GiB in half precision)."""
    import onnx

    from inference.ort import ort_tool

    float16 = ort_tool("transformers.float16")
    model = onnx.load(str(fp32), load_external_data=True)
    onnx.save_model(float16.convert_float_to_float16(model, keep_io_types=True), str(out))
    return Path(out)


@dataclass(frozen=True)
class ScanVariant:
    """One reduced-precision scan graph: how it is made and what it must stay within."""

    kind: str  # "int8" or "fp16", a key of inference.bundle.SCAN_VARIANTS
    make: Callable[[str | Path, str | Path], Path]
    tolerance: dict[str, Any]
    method: str
    used: str  # where the runtime runs it, for messages

    @property
    def file(self) -> str:
        return SCAN_VARIANTS[self.kind]["file"]

    @property
    def key(self) -> str:
        """The manifest entry under ``vision`` that records it."""
        return SCAN_VARIANTS[self.kind]["key"]


VARIANTS = {
    "int8": ScanVariant("int8", quantize_scan, {"image_tokens_rel_rms": 0.03, "kl_nats": 0.01, "same_top1": True},
                        "onnxruntime quantize_dynamic: MatMul and Attention weights uint8 per channel",
                        "on the CPU"),
    # the answer may move as little whatever the precision; the image tokens, with about 3
    # significant digits, must stay ten times closer than int8's (an fp16 overflow shows here)
    "fp16": ScanVariant("fp16", half_scan, {"image_tokens_rel_rms": 0.003, "kl_nats": 0.01, "same_top1": True},
                        "onnxruntime.transformers float16 conversion, float32 inputs and outputs",
                        "on CUDA"),
}


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


def measure_variant(bundle: Any, graph: str | Path, volume: Any, question: str = QUESTION,
                    threads: int | None = None) -> dict[str, Any]:
    """The scan graph at ``graph`` against the bundle's fp32 one on ``volume`` (a loaded CT),
    both on the CPU provider: each scan output's relative RMS error and the first answer
    token's logits (KL, top-1)."""
    from inference.chat.session import ChatSession

    chat = ChatSession(bundle, device="cpu", n_threads=threads)
    try:
        outputs, logits = [], []
        for path in (bundle.scan_graph, graph):
            chat.vision.use_scan_graph(path)
            chat.load_scan(volume)  # encodes the scan with that graph
            outputs.append(chat.scan_outputs)
            logits.append(chat.first_token_logits(question))
    finally:
        chat.close()
    errors = {name: rel_rms(outputs[0][name], outputs[1][name]) for name in outputs[0]}
    return {"image_tokens_rel_rms": errors, "kl_nats": kl_nats(*logits),
            "same_top1": bool(np.argmax(logits[0]) == np.argmax(logits[1])),
            "logits_max_abs_diff": float(np.abs(logits[0] - logits[1]).max()),
            "question": question}


def accepted(measured: dict[str, Any], tolerance: dict[str, Any]) -> bool:
    """Whether ``measured`` (from :func:`measure_variant`) lies within ``tolerance``."""
    return (max(measured["image_tokens_rel_rms"].values()) <= tolerance["image_tokens_rel_rms"]
            and measured["kl_nats"] <= tolerance["kl_nats"]
            and (measured["same_top1"] or not tolerance["same_top1"]))


def add_scan_variant(bundle_path: str | Path, kind: str, scan: str | Path | None = None,
                     threads: int | None = None, tolerance: dict[str, Any] | None = None) -> dict[str, Any]:
    """Make the ``kind`` version of a bundle's scan graph, measure it on ``scan`` (default: the
    demo CT) and record the result (:func:`record_scan_variant`)."""
    from inference.io import load_volume
    from inference.resources import DEMO_CT

    variant = VARIANTS[kind]
    root = Path(bundle_path)
    bundle = load_bundle(root)
    graph = variant.make(bundle.scan_graph, root / variant.file)
    measured = measure_variant(bundle, graph, load_volume(scan or DEMO_CT), threads=threads)
    return record_scan_variant(root, kind, measured, tolerance)


def record_scan_variant(root: Path, kind: str, measured: dict[str, Any],
                        tolerance: dict[str, Any] | None = None) -> dict[str, Any]:
    """Record ``measured`` and the verdict in the manifest (``vision.scan_graph_<kind>``). The
    graph (``root / <its file>``) is kept, and listed among the verified files, only when
    accepted within ``tolerance`` (default: the variant's); a rejected one is deleted, its
    figures kept."""
    variant = VARIANTS[kind]
    tolerance = tolerance or variant.tolerance
    ok = accepted(measured, tolerance)
    manifest = json.loads((root / MANIFEST).read_text())
    record = {"file": variant.file, "accepted": ok, "tolerance": tolerance, "measured": measured,
              "method": variant.method}
    manifest["vision"][variant.key] = record
    files = [f for f in manifest["files"] if f != variant.file]
    if ok:
        files.append(variant.file)
    else:
        (root / variant.file).unlink(missing_ok=True)
    write_manifest(root, manifest, files)
    return record


def variant_summary(kind: str, record: dict[str, Any]) -> str:
    """One line on a scan variant's acceptance: figures against the tolerance."""
    m, tol = record["measured"], record["tolerance"]
    verdict = f"accepted, used {VARIANTS[kind].used}" if record["accepted"] else "rejected, not written"
    return (f"{kind} scan graph {verdict}: image tokens relative RMS error "
            f"{max(m['image_tokens_rel_rms'].values()):.2%} (at most {tol['image_tokens_rel_rms']:.1%}), "
            f"first answer token KL {m['kl_nats']:.2g} nats (at most {tol['kl_nats']:g}), "
            f"same top token: {'yes' if m['same_top1'] else 'no'}")
