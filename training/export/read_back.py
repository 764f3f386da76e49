"""Training weights read back from an exported bundle, so a stage can start from a shipped
model (``ctchat train --init resources/bundles/default``) as it starts from a run folder.

* Vision: the scan graph holds every vision weight (:func:`vision_state_from_onnx`); the
  question graph has none (TG-IS scores by similarity).
* LoRA: the adapter GGUF holds peft's ``lora_A``/``lora_B`` pairs under the base GGUF's tensor
  names (:mod:`.lora_gguf`), stored as float16: a continued run starts from the float16-rounded
  adapter (relative error ~5e-4), which is what the app ran.

The rebuilt vision model is checked against the graph on one input before it is returned.

Example:
    >>> state = checkpoint_from_bundle("resources/bundles/default")   # doctest: +SKIP
    >>> state["stage"], len(state["vision"]), len(state["lora"])      # doctest: +SKIP
    ('lora', 81, 252)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from inference.bundle import MANIFEST, load_bundle
from inference.vision.runtime import create_session
from training.export.lora_gguf import HF_TO_GGUF
from training.models.layers import Attention

_GGUF_TO_HF = {v: k for k, v in HF_TO_GGUF.items()}


def is_bundle(path: str | Path) -> bool:
    """Whether ``path`` is a bundle folder (it holds a manifest) rather than a run folder."""
    return (Path(path) / MANIFEST).is_file()


def vision_state_from_onnx(scan_graph: str | Path, vision_model: nn.Module) -> dict[str, torch.Tensor]:
    """``vision_model``'s state dict as exported in ``scan_graph`` (its weights are not changed).

    Each layer's weights are found through the graph's nodes, which the exporter names by the
    module they come from (``/vit3d/blocks.0/attn/q/MatMul``), not through the weights' own
    names: constant folding renames transposed weights, and the exporter keeps one copy of equal
    tensors (e.g. every zero bias of an untrained layer) under one name, and ``Identity`` nodes
    for the others. Node names as the TorchScript exporter (the default) writes them; a graph
    named otherwise is refused with the layer it could not find.

    A fused graph (:mod:`.fusion`) is read too: a fused node keeps the output name of the node it
    replaced (``/vit3d/blocks.0/norm1/LayerNormalization_output_0``), which names its module;
    ``SkipLayerNormalization`` and ``BiasGelu`` hold the bias of the Linear before them, and
    ``Attention`` the q, k and v projections side by side (``[in, 3 * out]``).
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(scan_graph)).graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    values.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node
                   if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"})
    for node in graph.node:  # the kept copy of equal tensors passes to the others' names
        if node.op_type == "Identity" and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    nodes: dict[tuple[str, str], list] = {}
    consumers: dict[str, list] = {}
    for node in graph.node:
        named_by = node.name if node.name.startswith("/") else node.output[0]  # fused: "SkipLayerNorm_3"
        nodes.setdefault((_module_path(named_by), node.op_type), []).append(node)
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def node_of(scope: str, *ops: str):
        found = [n for op in ops for n in nodes.get((scope, op), [])]
        if len(found) != 1:
            raise ValueError(f"{scan_graph}: expected one {'/'.join(ops)} node of {scope}, found {len(found)}")
        return found[0]

    def value(name: str) -> torch.Tensor:
        if name not in values:
            raise ValueError(f"{scan_graph}: {name} is not a weight of the graph")
        return torch.from_numpy(np.array(values[name], dtype=np.float32))

    def constant_input(node) -> str:
        return next(i for i in node.input if i in values)

    def linear_bias(scope: str, matmul) -> str:
        if nodes.get((scope, "Add")):
            return constant_input(node_of(scope, "Add"))
        fused = [n for n in consumers.get(matmul.output[0], [])
                 if (n.op_type == "BiasGelu" or n.op_type == "SkipLayerNormalization" and len(n.input) > 4)]
        if len(fused) != 1:
            raise ValueError(f"{scan_graph}: no bias found for {scope}")
        return fused[0].input[1 if fused[0].op_type == "BiasGelu" else 4]

    scan = vision_model.scan
    state: dict[str, torch.Tensor] = {}
    for scope, module in scan.named_modules():
        if f"{scope}.weight" in state:
            continue  # a projection read with its fused attention
        if isinstance(module, Attention) and nodes.get((scope, "Attention")):
            fused = node_of(scope, "Attention")
            qkv, bias = value(fused.input[1]).T, value(fused.input[2])  # qkv: [3 * dim, in], q, k, v rows
            dim = module.q.out_features
            state[f"{scope}.q.weight"], state[f"{scope}.kv.weight"] = qkv[:dim].contiguous(), qkv[dim:].contiguous()
            state[f"{scope}.q.bias"], state[f"{scope}.kv.bias"] = bias[:dim], bias[dim:]
        elif isinstance(module, nn.Linear):
            node = node_of(scope, "MatMul", "Gemm")
            weight = value(node.input[1])
            transposed = node.op_type == "MatMul" or not any(a.name == "transB" and a.i for a in node.attribute)
            state[f"{scope}.weight"] = weight.T.contiguous() if transposed else weight
            if module.bias is not None:
                bias = node.input[2] if node.op_type == "Gemm" else linear_bias(scope, node)
                state[f"{scope}.bias"] = value(bias)
        elif isinstance(module, (nn.Conv2d, nn.Conv3d, nn.LayerNorm)):
            ops = ("LayerNormalization", "SkipLayerNormalization") if isinstance(module, nn.LayerNorm) else ("Conv",)
            node = node_of(scope, *ops)
            first = 2 if node.op_type == "SkipLayerNormalization" else 1  # Skip: (x, skip, gamma, beta, bias)
            state[f"{scope}.weight"] = value(node.input[first])
            if module.bias is not None:
                state[f"{scope}.bias"] = value(node.input[first + 1])
    for name, _ in scan.named_parameters():  # parameters used as they are (e.g. location codes)
        if name not in state:
            state[name] = value(name)
    shapes = {k: v.shape for k, v in scan.state_dict().items()}
    return {f"scan.{k}": v.reshape(shapes[k]) for k, v in state.items()}


def _module_path(node_name: str) -> str:
    """The module a node comes from: ``/vit3d/patch_embed/patch_embed.0/Conv`` ->
    ``vit3d.patch_embed.0`` (a called ``Sequential`` is a scope of its own, whose children's
    scopes repeat its name)."""
    parts = node_name.strip("/").split("/")[:-1]
    kept = [p for p, after in zip(parts, parts[1:] + [""]) if not after.startswith(p + ".")]
    return ".".join(kept)


def lora_state_from_gguf(adapter: str | Path) -> tuple[dict[str, torch.Tensor], float]:
    """``(peft state dict, alpha)`` of a LoRA adapter GGUF written by
    :func:`~.lora_gguf.write_lora_gguf` (keys as ``get_peft_model_state_dict`` gives them)."""
    import gguf

    reader = gguf.GGUFReader(str(adapter))
    alpha_field = reader.get_field(gguf.Keys.Adapter.LORA_ALPHA)
    if alpha_field is None:
        raise ValueError(f"{adapter} is not a LoRA adapter GGUF (no {gguf.Keys.Adapter.LORA_ALPHA})")
    alpha = float(alpha_field.contents())
    state = {}
    for tensor in reader.tensors:
        base, which = tensor.name.rsplit(".", 1)  # "blk.3.attn_q.weight", "lora_a"
        _, layer, module, _ = base.split(".")
        if module not in _GGUF_TO_HF or which not in ("lora_a", "lora_b"):
            raise ValueError(f"{adapter}: unexpected tensor {tensor.name}")
        # GGUFReader gives the numpy shape the writer wrote, (r, n_in) for A and (n_out, r) for B
        array = np.asarray(tensor.data, dtype=np.float32).reshape([int(n) for n in reversed(tensor.shape)])
        key = f"base_model.model.model.layers.{layer}.{_GGUF_TO_HF[module]}.lora_{which[-1].upper()}.weight"
        state[key] = torch.from_numpy(array.copy())
    return state, alpha


def checkpoint_from_bundle(bundle: str | Path) -> dict:
    """What :func:`~.warm_start.start_from_run` reads from a run's checkpoint, from a bundle
    (loaded and verified by :func:`~inference.bundle.load_bundle`): ``stage`` ("lora" with an
    adapter, else "align"), ``vision`` (state dict), ``lora`` (peft state dict, possibly empty)
    and ``lora_alpha``. Its training record is read by :func:`~.trainer.read_stages`."""
    from training.models.config import VisionConfig
    from training.models.vision_model import build_vision_model

    loaded = load_bundle(bundle)
    model = build_vision_model(VisionConfig.from_dict(loaded.manifest["vision"]["config"]))
    vision = vision_state_from_onnx(loaded.scan_graph, model)
    check_against_graph(model, vision, loaded.scan_graph)
    lora, alpha = lora_state_from_gguf(loaded.lora_path) if loaded.lora_path else ({}, None)
    return {"stage": "lora" if lora else "align", "vision": vision, "lora": lora, "lora_alpha": alpha}


def check_against_graph(vision_model: torch.nn.Module, state: dict[str, torch.Tensor], scan_graph: str | Path,
                        atol: float = 1e-3) -> None:
    """Load ``state`` into ``vision_model`` (strictly) and check that its scan outputs match the
    graph's on one random volume; ``ValueError`` when they do not."""
    vision_model.load_state_dict(state, strict=True)
    vision_model.eval()
    shape = (1, 1, *vision_model.cfg.vit3d.input_shape)
    volume = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = vision_model.scan(volume)
    got = create_session(scan_graph, device="cpu").run(None, {"volume": volume.numpy()})
    for name, e, g in zip(("image tokens", "slice tokens", "slice features"), expected, got):
        diff = float(np.abs(e.numpy() - g).max())
        if diff > atol:
            raise ValueError(f"{scan_graph}: weights read back do not reproduce the graph's {name} "
                             f"(max difference {diff:.2g})")
