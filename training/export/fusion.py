"""ONNX Runtime transformer fusions for the exported vision graphs.

``F.scaled_dot_product_attention`` exports (TorchScript, opset 17) as a scale computed from the
tensor's shape at run time (Shape - Slice - Cast - Sqrt - Div - Sqrt) and multiplied into q and
into the transposed k, and the packed ``kv`` projection as one MatMul followed by Split and
Squeeze. ``onnxruntime.transformers``' attention fusion matches neither: it wants three
projections of the same LayerNorm output (MatMul + Add each, then Reshape + Transpose) and
``Softmax(Div(MatMul(q, k)))`` with a constant divisor (its "no mask" path). So the export swaps
every transformer block's self-attention for :class:`FusableAttention`, the same function
written that way, with the same weights (``kv`` split into ``k`` and ``v``); the torch model
itself is not changed. The optimiser then replaces each block's attention by one
``Attention`` op and fuses LayerNorm (``SkipLayerNormalization``) and GELU (``BiasGelu``).

The optimiser runs with ``opt_level=0``: only the fusions are written into the file, not ORT's
provider-specific rewrites (those it still applies when a session loads the graph).

Example:
    >>> counts = fuse_graph("scan.onnx")      # in place                  # doctest: +SKIP
    >>> counts["Attention"], counts["SkipLayerNormalization"]            # doctest: +SKIP
    (4, 10)
"""

from __future__ import annotations

import copy
import logging
import math
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from training.models.layers import Attention, Block

# the op types the fusions write (com.microsoft domain, except LayerNormalization)
FUSED_OPS = ("Attention", "MultiHeadAttention", "SkipLayerNormalization", "LayerNormalization",
             "BiasGelu", "Gelu", "FastGelu")


class FusableAttention(nn.Module):
    """:class:`~training.models.layers.Attention` (self-attention) in the form ORT's fusion
    recognises: separate q, k, v projections, k transposed by one Transpose, scores divided by
    a constant sqrt(head size)."""

    def __init__(self, attn: Attention) -> None:
        super().__init__()
        dim = attn.q.in_features
        self.heads = attn.heads
        self.q, self.proj = attn.q, attn.proj
        self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim)
        with torch.no_grad():
            k_w, v_w = attn.kv.weight.chunk(2, dim=0)
            k_b, v_b = attn.kv.bias.chunk(2, dim=0)
            self.k.weight.copy_(k_w), self.k.bias.copy_(k_b)
            self.v.weight.copy_(v_w), self.v.bias.copy_(v_b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        h, d = self.heads, c // self.heads
        q = self.q(x).reshape(b, n, h, d).transpose(1, 2)
        k = self.k(x).reshape(b, n, h, d).permute(0, 2, 3, 1)
        v = self.v(x).reshape(b, n, h, d).transpose(1, 2)
        scores = torch.matmul(q, k) / math.sqrt(d)
        out = torch.matmul(scores.softmax(dim=-1), v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


def fusable_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` whose transformer blocks use :class:`FusableAttention`
    (cross-attention, e.g. the Q-Former's, is left as it is)."""
    module = copy.deepcopy(module)
    for block in module.modules():
        if isinstance(block, Block) and isinstance(block.attn, Attention):
            block.attn = FusableAttention(block.attn)
    return module


def op_counts(path: str | Path) -> Counter:
    """How many nodes of each op type the ONNX graph at ``path`` has."""
    import onnx

    return Counter(n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node)


def fuse_graph(path: str | Path) -> dict[str, int]:
    """Apply ORT's transformer fusions to the graph at ``path`` in place; returns the fused op
    counts (:data:`FUSED_OPS`). Heads and width are read from each attention's Reshape, so
    towers of different widths in one graph are both fused."""
    from inference.ort import ort_tool

    optimizer = ort_tool("transformers.optimizer")

    # it warns that our producer name is not "pytorch", and logs each fusion at INFO
    log = logging.getLogger("onnxruntime.transformers")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        model = optimizer.optimize_model(str(path), model_type="vit", num_heads=0, hidden_size=0, opt_level=0)
    finally:
        log.setLevel(level)
    model.save_model_to_file(str(path))
    counts = op_counts(path)
    return {op: counts.get(op, 0) for op in FUSED_OPS}
