"""How many LLM layers go to the GPU, and where llama.cpp really put them.

llama.cpp offloads ``n_gpu_layers`` layers when its build has a GPU backend (CUDA, Vulkan,
Metal); a CPU build keeps everything on the CPU whatever is asked. What happened is read back
from llama.cpp's own load log ("layer N assigned to device X"), never assumed from the request.

Example:
    >>> gpu_layers_setting(None, supports_offload=False)
    0
    >>> parse_layer_devices(["load_tensors: layer   0 assigned to device CUDA0, is_swa = 1"])
    {0: 'CUDA0'}
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterable

from .errors import LLMError

ALL_LAYERS = -1  # llama.cpp's "every layer"
_LAYER_DEVICE = re.compile(r"layer\s+(\d+) assigned to device (\S+?),")


def gpu_layers_setting(requested: int | None, supports_offload: bool) -> int:
    """``n_gpu_layers`` for llama.cpp: ``requested`` if given, else ``CTCHAT_GPU_LAYERS``, else
    every layer when the build can offload and none when it cannot (``-1``: every layer)."""
    if requested is None:
        env = os.environ.get("CTCHAT_GPU_LAYERS", "").strip()
        if env:
            try:
                requested = int(env)
            except ValueError:
                raise LLMError(f"CTCHAT_GPU_LAYERS must be a whole number of layers (-1: all), not {env!r}") from None
    if requested is None:
        return ALL_LAYERS if supports_offload else 0
    if requested < ALL_LAYERS:
        raise LLMError(f"the number of GPU layers must be -1 (all) or more, not {requested}")
    return requested


def parse_layer_devices(lines: Iterable[str]) -> dict[int, str]:
    """Layer index -> device name, from llama.cpp's load log."""
    found: dict[int, str] = {}
    for line in lines:
        match = _LAYER_DEVICE.search(line)
        if match:
            found[int(match.group(1))] = match.group(2)
    return found


@dataclass(frozen=True)
class LayerOffload:
    """Where a loaded model's layers run: ``on_gpu`` of ``total`` on ``gpu_devices``.

    ``n_layers`` is the model's count of repeating layers; llama.cpp also places the output
    layer, so ``total`` (the layers it reported) is one more."""

    n_layers: int
    requested: int
    layer_devices: dict[int, str]

    @property
    def total(self) -> int:
        return len(self.layer_devices) or self.n_layers

    @property
    def on_gpu(self) -> int:
        return sum(1 for dev in self.layer_devices.values() if dev != "CPU")

    @property
    def gpu_devices(self) -> list[str]:
        return sorted({dev for dev in self.layer_devices.values() if dev != "CPU"})

    def describe(self) -> str:
        """One line, e.g. ``"19/19 layers on CUDA0"`` or ``"0/19 layers on the GPU (all on the CPU)"``."""
        if not self.layer_devices:
            return f"{self.n_layers} layers (llama.cpp did not report their devices)"
        if self.on_gpu:
            return f"{self.on_gpu}/{self.total} layers on {', '.join(self.gpu_devices)}"
        return f"0/{self.total} layers on the GPU (all on the CPU)"

    def to_dict(self) -> dict:
        return {"layers": self.total, "on_gpu": self.on_gpu, "gpu_devices": self.gpu_devices,
                "requested_gpu_layers": self.requested}
