"""The LLM as a trainable transformers model, loaded from the same GGUF the app runs.

transformers dequantises the GGUF to float32 (about a minute for Gemma 3 270M); the result is
cached as safetensors in the app's data folder so later runs load in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

from inference.resources import data_dir


def load_training_llm(gguf_path: str | Path):
    """A float32 ``AutoModelForCausalLM`` of ``gguf_path`` (cached after the first load, offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local files only, never the network
    import torch
    from transformers import AutoModelForCausalLM

    gguf_path = Path(gguf_path)
    stat = gguf_path.stat()
    cache = data_dir() / "cache" / "hf" / f"{gguf_path.stem}-{stat.st_size}"
    if (cache / "model.safetensors").exists():
        return AutoModelForCausalLM.from_pretrained(str(cache), dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32)
    # save_pretrained refuses a model it dequantised from GGUF: write the float weights and the
    # config ourselves (save_model handles the tied input/output embeddings)
    from safetensors.torch import save_model

    cache.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(str(cache))
    save_model(model, str(cache / "model.safetensors.partial"))
    (cache / "model.safetensors.partial").replace(cache / "model.safetensors")
    return model
