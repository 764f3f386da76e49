"""The ONNX graphs of each published model's vision side, with fixed input and output names.

* M3D-LaMed and Med3DVLM: ``scan.onnx``, ``volume`` (1, 1, D, H, W) float32 -> ``image_tokens_3d``
  (1, 256, H_llm).
* Med-2E3: ``scan.onnx`` (``volume`` -> ``image_tokens_3d``, ``slice_tokens_2d``,
  ``slice_features``) and ``question.onnx`` (``question_ids``, ``question_mask`` (1, L) int64
  and the three scan outputs -> ``slice_scores``, ``image_tokens``); see
  :mod:`convert.towers.med2e3`.

Each ``export_*`` returns ``{graph name: ExportedGraph}``; ``example_inputs_*`` give inputs of
the graphs' shapes (random, for tracing and parity checks).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from . import med2e3 as m2
from .lamed import LamedVision
from .med2e3 import Med2E3Vision
from .med3dvlm import Med3DVLMVision
from .onnx_export import ExportedGraph, export_graph

SCAN_INPUTS = ("volume",)
SCAN_OUTPUTS = ("image_tokens_3d",)  # the name our scan graphs give the 3D tokens
QUESTION_LENGTH = 512  # Med-2E3 pads every question to the BERT tokenizer's 512


def _meta(model: str, graph: str, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> dict[str, str]:
    return {"ctchat.vision.source": model, "ctchat.vision.graph": graph,
            "ctchat.vision.inputs": json.dumps(inputs), "ctchat.vision.outputs": json.dumps(outputs)}


def volume_example(shape: tuple[int, int, int], seed: int = 0) -> torch.Tensor:
    """A (1, 1, D, H, W) volume of uniform [0, 1) values."""
    return torch.rand(1, 1, *shape, generator=torch.Generator().manual_seed(seed))


def export_lamed(vision: LamedVision, out_dir: str | Path, *,
                 dynamo: bool = False) -> dict[str, ExportedGraph]:
    """``<out_dir>/scan.onnx`` of an M3D-LaMed vision side."""
    vol = volume_example(vision.vision_tower.cfg.img_size)
    return {"scan": export_graph(vision, (vol,), Path(out_dir) / "scan.onnx", SCAN_INPUTS,
                                 SCAN_OUTPUTS, dynamo=dynamo,
                                 metadata=_meta("m3d-lamed", "scan", SCAN_INPUTS, SCAN_OUTPUTS))}


def export_med3dvlm(vision: Med3DVLMVision, out_dir: str | Path, *,
                    dynamo: bool = False) -> dict[str, ExportedGraph]:
    """``<out_dir>/scan.onnx`` of a Med3DVLM vision side."""
    vol = volume_example(vision.input_shape)
    return {"scan": export_graph(vision, (vol,), Path(out_dir) / "scan.onnx", SCAN_INPUTS,
                                 SCAN_OUTPUTS, dynamo=dynamo,
                                 metadata=_meta("med3dvlm", "scan", SCAN_INPUTS, SCAN_OUTPUTS))}


def question_example(vocab_size: int, length: int = QUESTION_LENGTH, n_real: int = 12,
                     seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random ``(input_ids, attention_mask)`` (1, length) int64: ``n_real`` tokens, then padding."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab_size, (1, length), generator=g)
    mask = (torch.arange(length) < n_real).long().unsqueeze(0)
    return ids * mask, mask


def example_inputs_med2e3(vision: Med2E3Vision, length: int = QUESTION_LENGTH,
                          seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs of both Med-2E3 graphs, the question graph's taken from the scan graph's run."""
    vol = volume_example(vision.vision3d.cfg.img_size, seed)
    with torch.no_grad():
        t3, t2, feats = vision.scan_graph()(vol)
    ids, mask = question_example(vision.bert.config.vocab_size, length, seed=seed)
    return {"volume": vol, "question_ids": ids, "question_mask": mask, "image_tokens_3d": t3,
            "slice_tokens_2d": t2, "slice_features": feats}


def export_med2e3(vision: Med2E3Vision, out_dir: str | Path, *, length: int = QUESTION_LENGTH,
                  dynamo: bool = False) -> dict[str, ExportedGraph]:
    """``<out_dir>/scan.onnx`` and ``<out_dir>/question.onnx`` of a Med-2E3 vision side."""
    ex = example_inputs_med2e3(vision, length)
    out = Path(out_dir)
    scan = export_graph(vision.scan_graph(), (ex["volume"],), out / "scan.onnx", m2.SCAN_INPUTS,
                        m2.SCAN_OUTPUTS, dynamo=dynamo,
                        metadata=_meta("med-2e3", "scan", m2.SCAN_INPUTS, m2.SCAN_OUTPUTS))
    q_args = tuple(ex[n] for n in m2.QUESTION_INPUTS)
    question = export_graph(vision.question_graph(), q_args, out / "question.onnx",
                            m2.QUESTION_INPUTS, m2.QUESTION_OUTPUTS, dynamo=dynamo,
                            metadata=_meta("med-2e3", "question", m2.QUESTION_INPUTS,
                                           m2.QUESTION_OUTPUTS))
    return {"scan": scan, "question": question}
