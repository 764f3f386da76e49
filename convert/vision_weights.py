"""The vision tensors of a published checkpoint, read without loading its LLM, and the tower
sizes those tensors imply.

M3D-LaMed and Med3DVLM keep their vision tower and projector in the same safetensors shards as
the LLM: only the keys under the vision prefixes are read (``safe_open`` reads one tensor at a
time). Med-2E3 keeps each part in its own folder as a ``pytorch_model.bin``, read with
``weights_only=True``. The ViT and DCFormer sizes are read from the tensors' shapes, so a
checkpoint of any size builds the tower that fits it (the published ones are M3D-CLIP's
768 x 12 and ``decomp_small``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ConversionError

HEAD_DIM = 64  # M3D-CLIP's ViT: 12 heads at width 768 (MONAI's ViT has no head count in its weights)


def read_safetensors(files: Iterable[Path], prefixes: tuple[str, ...]) -> dict[str, Any]:
    """The tensors whose names start with one of ``prefixes``, from safetensors files."""
    from safetensors import safe_open

    tensors: dict[str, Any] = {}
    for path in files:
        if path.suffix != ".safetensors":
            continue
        with safe_open(str(path), framework="pt") as fh:
            for key in fh.keys():
                if key.startswith(prefixes):
                    tensors[key] = fh.get_tensor(key)
    return tensors


def read_torch_bin(path: Path) -> dict[str, Any]:
    """A ``pytorch_model.bin`` state dict (tensors only; nothing else in the pickle runs)."""
    import torch

    if not path.is_file():
        raise ConversionError(f"{path} is missing")
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign pickle: say which file
        raise ConversionError(f"{path} cannot be read as a PyTorch state dict ({exc})") from exc


def _indices(state_dict: Mapping[str, Any], prefix: str) -> list[int]:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    return sorted({int(m.group(1)) for key in state_dict if (m := pattern.match(key))})


def _tensor(state_dict: Mapping[str, Any], key: str) -> Any:
    if key not in state_dict:
        raise ConversionError(f"the checkpoint lacks the vision tensor {key}")
    return state_dict[key]


def m3d_vit_sizes(state_dict: Mapping[str, Any], prefix: str) -> dict[str, int]:
    """``hidden_size``, ``mlp_dim``, ``num_layers`` and ``num_heads`` of an M3D-CLIP ViT under
    ``prefix``, from its tensors (heads: width / 64, as M3D-CLIP's 12 at 768)."""
    embed = _tensor(state_dict, prefix + "patch_embedding.patch_embeddings.1.weight")
    layers = _indices(state_dict, prefix + "blocks.")
    if not layers:
        raise ConversionError(f"the checkpoint has no transformer blocks under {prefix}blocks.")
    hidden = int(embed.shape[0])
    return {"hidden_size": hidden, "mlp_dim": int(_tensor(state_dict, prefix + "blocks.0.mlp.linear1.weight").shape[0]),
            "num_layers": len(layers), "num_heads": max(1, hidden // HEAD_DIM)}


def dcformer_sizes(state_dict: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``DCFormerConfig`` fields (block counts, channels, kernels, input channels) of the
    DCFormer under ``prefix`` (``...encoder.``), from its tensors."""
    stem = _tensor(state_dict, prefix + "s0.0.0.c1.0.weight")
    blocks, channels, kernels = [len(_indices(state_dict, prefix + "s0."))], [int(stem.shape[0])], []
    for stage in range(1, 5):
        depthwise = _tensor(state_dict, f"{prefix}s{stage}.0.dwconv.c1.0.weight")
        blocks.append(len(_indices(state_dict, f"{prefix}s{stage}.")))
        channels.append(int(depthwise.shape[0]))
        kernels.append(int(depthwise.shape[2]))
    return {"in_channels": int(stem.shape[1]), "num_blocks": tuple(blocks), "channels": tuple(channels),
            "kernel_sizes": tuple(kernels)}
