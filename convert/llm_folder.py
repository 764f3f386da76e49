"""Step 1: an LLM-only Hugging Face folder from a published checkpoint (the source untouched).

Only the language model's tensors are kept (``model.embed_tokens``, ``model.layers.N.*``,
``model.norm``, ``lm_head``): vision towers, projectors and segmentation heads are dropped.
A source file that holds LLM tensors only is linked (a symbolic link), not copied; the others'
LLM tensors are written to new safetensors shards.
The config names the stock architecture llama.cpp's converter knows, with ``vocab_size``
set to the embedding's rows (published checkpoints add tokens and resize the embedding);
the tokenizer files are copied as they are.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path

from .errors import ConversionError
from .llm_layouts import FAMILIES, LLMSource
from .progress import LLM_FOLDER, Progress, ProgressCallback, no_progress

LLM_TENSOR = re.compile(r"^(model\.(embed_tokens|layers\.\d+|norm)\.|lm_head\.)")
SHARD_BYTES = 2 << 30  # written shards of at most 2 GiB: memory stays near one shard
_DROP_CONFIG_KEYS = ("auto_map",)  # remote code: llama.cpp's converter must never try it


def is_llm_tensor(name: str) -> bool:
    """True for the language model's own tensors (not vision, projector or segmentation)."""
    return bool(LLM_TENSOR.match(name)) and not name.endswith(".rotary_emb.inv_freq")


class _TensorFile:
    """Lazy access to one weights file: safetensors opened, a torch pickle memory-mapped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.is_safetensors = path.suffix == ".safetensors"
        if self.is_safetensors:
            from safetensors import safe_open

            self._st = safe_open(str(path), framework="pt")
            self.names = list(self._st.keys())
        else:
            import torch

            try:
                self._sd = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
            except Exception as exc:  # torch raises many types for a bad pickle
                raise ConversionError(f"{path} cannot be read as a PyTorch state dict ({exc})") from exc
            self.names = list(self._sd)

    def get(self, name: str):
        return self._st.get_tensor(name) if hasattr(self, "_st") else self._sd[name]

    def rows(self, name: str) -> int:
        """The first dimension of a tensor, without reading it."""
        if hasattr(self, "_st"):
            return int(self._st.get_slice(name).get_shape()[0])
        return int(self._sd[name].shape[0])


def _llm_config(source: LLMSource, rows: int) -> dict:
    config = json.loads(source.config.read_text(encoding="utf-8"))
    for key in _DROP_CONFIG_KEYS:
        config.pop(key, None)
    arch, model_type = FAMILIES[source.family]
    config["architectures"] = [arch]
    config["model_type"] = model_type
    config["vocab_size"] = rows
    if source.family == "phi3" and "original_max_position_embeddings" not in config:
        # llama.cpp's Phi-3 converter reads it unconditionally; without rope scaling the
        # model's trained context is its original one
        config["original_max_position_embeddings"] = config.get("max_position_embeddings", 4096)
    return config


def _check_complete(names: set[str], config: dict, where: Path) -> None:
    layers = config.get("num_hidden_layers")
    needed = {"model.embed_tokens.weight", "model.norm.weight"}
    if not config.get("tie_word_embeddings", False):
        needed.add("lm_head.weight")
    missing = sorted(needed - names)
    have_layers = {int(n.split(".")[2]) for n in names if n.startswith("model.layers.")}
    if isinstance(layers, int) and have_layers != set(range(layers)):
        missing.append(f"layers {sorted(set(range(layers)) - have_layers)}")
    if missing:
        raise ConversionError(f"{where} lacks LLM tensors ({', '.join(missing)}): the checkpoint is incomplete")


def write_llm_folder(source: LLMSource, out: Path, progress: ProgressCallback = no_progress) -> dict:
    """Write the LLM-only folder ``out`` (created; must not exist) from ``source``.

    Returns:
        A summary: ``{"tensors": kept, "dropped": {prefix: count}, "rows": embedding rows}``.

    Raises:
        ConversionError: a weights file is unreadable or LLM tensors are missing.
    """
    files = [_TensorFile(p) for p in source.weights]
    kept = [(f, n) for f in files for n in f.names if is_llm_tensor(n)]
    dropped = Counter(".".join(n.split(".")[:2]) for f in files for n in f.names if not is_llm_tensor(n))
    names = {n for _, n in kept}
    if "model.embed_tokens.weight" not in names:
        raise ConversionError(f"{source.folder} has no model.embed_tokens.weight: it holds no LLM this converter knows")
    embed_file = next(f for f, n in kept if n == "model.embed_tokens.weight")
    rows = embed_file.rows("model.embed_tokens.weight")
    config = _llm_config(source, rows)
    _check_complete(names, config, source.folder)

    head = next((f for f, n in kept if n == "lm_head.weight"), None)
    if head is not None and head.rows("lm_head.weight") != rows:
        raise ConversionError(f"{source.folder}: lm_head has {head.rows('lm_head.weight')} rows but the "
                              f"embedding {rows}: the checkpoint is inconsistent")

    out.mkdir(parents=True)
    done = 0
    if len(files) == 1 and not files[0].is_safetensors and all(map(is_llm_tensor, files[0].names)):
        # an LLM-only pickle (Med-2E3's llm/pytorch_model.bin): linked, not copied
        os.symlink(files[0].path.resolve(), out / "pytorch_model.bin")
        progress(Progress(LLM_FOLDER, len(kept), len(kept), "tensors", f"linked {files[0].path.name}"))
    else:
        weight_map: dict[str, str] = {}
        writer = _ShardWriter(out)
        for f in files:
            if f.is_safetensors and all(map(is_llm_tensor, f.names)):
                # a shard holding only LLM tensors is linked, not copied
                os.symlink(f.path.resolve(), out / f.path.name)
                weight_map.update(dict.fromkeys(f.names, f.path.name))
                done += len(f.names)
                progress(Progress(LLM_FOLDER, done, len(kept), "tensors", f"linked {f.path.name}"))
                continue
            for name in f.names:
                if is_llm_tensor(name):
                    weight_map[name] = writer.add(name, f.get(name).contiguous())
                    done += 1
                    progress(Progress(LLM_FOLDER, done, len(kept), "tensors", name))
        writer.flush()
        index = {"metadata": {"total_size": writer.total + _linked_bytes(out)}, "weight_map": weight_map}
        (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    for path in source.tokenizer_files:
        shutil.copy2(path, out / path.name)
    _complete_tokenizer_config(out, source.family)
    return {"tensors": len(kept), "dropped": dict(sorted(dropped.items())), "rows": rows,
            "linked": sorted(p.name for p in out.iterdir() if p.is_symlink())}


class _ShardWriter:
    """Collects tensors into safetensors shards of at most :data:`SHARD_BYTES`."""

    def __init__(self, out: Path) -> None:
        self.out, self.shard, self.bytes, self.count, self.total = out, {}, 0, 0, 0

    def add(self, name: str, tensor) -> str:
        """Queue a tensor; returns the shard file it goes to."""
        nbytes = tensor.numel() * tensor.element_size()
        if self.shard and self.bytes + nbytes > SHARD_BYTES:
            self.flush()
        self.shard[name] = tensor
        self.bytes += nbytes
        self.total += nbytes
        return _shard_name(self.count + 1)

    def flush(self) -> None:
        if self.shard:
            from safetensors.torch import save_file

            self.count += 1
            save_file(self.shard, str(self.out / _shard_name(self.count)), metadata={"format": "pt"})
        self.shard, self.bytes = {}, 0


def _linked_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.iterdir() if p.is_symlink())


def _shard_name(index: int) -> str:
    return f"model-llm-{index:05d}.safetensors"  # never the name of a linked source shard


def _complete_tokenizer_config(out: Path, family: str) -> None:
    """llama.cpp's Phi-3 converter reads ``tokenizer_class`` unconditionally: name the
    SentencePiece class the published tokenizer.model implies when the config omits it."""
    path = out / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    if family == "phi3" and "tokenizer_class" not in config:
        config["tokenizer_class"] = "LlamaTokenizer"
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")
