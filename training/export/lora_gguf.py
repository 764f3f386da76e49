"""Write a LoRA adapter as a GGUF that llama.cpp loads on top of its base model.

The adapter GGUF carries ``general.type = adapter``, ``adapter.type = lora`` and
``adapter.lora.alpha``, and for each adapted weight ``<base tensor>.lora_a`` (numpy shape
``(r, n_in)``) and ``<base tensor>.lora_b`` (``(n_out, r)``): peft's ``lora_A``/``lora_B``
weights as they are, under the base GGUF's tensor names. llama.cpp applies
``W x + scale * (alpha / r) * B (A x)``, peft's own scaling. (llama.cpp's
``convert_lora_to_gguf.py`` is the reference this follows; this is our own writer.)

Example:
    >>> pairs = peft_to_gguf(peft_state_dict)                        # doctest: +SKIP
    >>> write_lora_gguf("adapter.gguf", pairs, alpha=32, arch="gemma3")   # doctest: +SKIP
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import numpy as np

# Hugging Face module names of a decoder layer -> llama.cpp tensor names (Llama/Gemma families)
HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_PEFT_KEY = re.compile(r"layers\.(\d+)\.(.+)\.lora_([AB])\.weight$")


def gguf_tensor_name(peft_key: str) -> tuple[str, str]:
    """``(base GGUF tensor name, "a" or "b")`` of a peft LoRA key.

    >>> gguf_tensor_name("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight")
    ('blk.3.attn_q.weight', 'a')
    """
    match = _PEFT_KEY.search(peft_key)
    if not match or match.group(2) not in HF_TO_GGUF:
        raise ValueError(f"no llama.cpp tensor for LoRA weight {peft_key!r}")
    layer, module, which = match.groups()
    return f"blk.{layer}.{HF_TO_GGUF[module]}.weight", which.lower()


def peft_to_gguf(state: Mapping[str, object]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Pair a peft adapter's ``lora_A``/``lora_B`` weights under base GGUF tensor names."""
    parts: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        if ".lora_" not in key:
            continue
        name, which = gguf_tensor_name(key)
        array = value.detach().cpu().float().numpy() if hasattr(value, "detach") else np.asarray(value)
        parts.setdefault(name, {})[which] = array.astype(np.float32)
    missing = [n for n, p in parts.items() if set(p) != {"a", "b"}]
    if missing:
        raise ValueError(f"LoRA weights without their pair: {missing}")
    return {n: (p["a"], p["b"]) for n, p in parts.items()}


def write_lora_gguf(path: str | Path, pairs: Mapping[str, tuple[np.ndarray, np.ndarray]], alpha: float, arch: str,
                    dtype: type = np.float16) -> Path:
    """Write ``pairs`` (base tensor name -> (A (r, n_in), B (n_out, r))) as a llama.cpp adapter.

    Stored as float16 by default, as llama.cpp's own ``convert_lora_to_gguf.py`` does: half the
    size of float32 (7.6 MB instead of 15 MB for r 16 on every linear layer of Gemma 3 270M).
    """
    import gguf

    path = Path(path)
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    for name, (a, b) in sorted(pairs.items()):
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise ValueError(f"{name}: A {a.shape} and B {b.shape} are not a rank-r pair")
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a, dtype=dtype))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b, dtype=dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
