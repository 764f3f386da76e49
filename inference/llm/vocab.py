"""The LLM's tokenizer, from llama.cpp: a GGUF loaded vocabulary-only (no weights, fast).

Used wherever text must become the LLM's token ids without running the model, e.g. the TG-IS
text vector; :class:`~inference.llm.runtime.LlamaRuntime` tokenizes through the same code.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from .errors import LLMError
from .library import check_gguf_file, llama_library


def tokenize_with(ll, vocab, text: str, parse_special: bool) -> list[int]:
    """``llama_tokenize`` with a buffer that grows when needed; no BOS is added."""
    data = text.encode("utf-8")
    capacity = len(data) + 8
    buf = (ll.llama_token * capacity)()
    n = ll.llama_tokenize(vocab, data, len(data), buf, capacity, False, parse_special)
    if n < 0:
        capacity = -n
        buf = (ll.llama_token * capacity)()
        n = ll.llama_tokenize(vocab, data, len(data), buf, capacity, False, parse_special)
    return list(buf[:n])


def piece_with(ll, vocab, token: int) -> bytes:
    """The bytes a token stands for (special tokens render as empty)."""
    buf = ctypes.create_string_buffer(64)
    n = ll.llama_token_to_piece(vocab, token, buf, len(buf), 0, False)
    if n < 0:
        buf = ctypes.create_string_buffer(-n)
        n = ll.llama_token_to_piece(vocab, token, buf, len(buf), 0, False)
    return buf.raw[:n]


class LlamaVocab:
    """A GGUF's vocabulary through llama.cpp, without loading its weights.

    Example:
        >>> vocab = LlamaVocab("gemma-3-270m-Q4_K_M.gguf")   # doctest: +SKIP
        >>> vocab.tokenize("Is there a nodule?")             # doctest: +SKIP
    """

    def __init__(self, gguf_path: str | os.PathLike) -> None:
        self.path = Path(gguf_path)
        check_gguf_file(self.path, "model")
        ll = self._ll = llama_library()
        params = ll.llama_model_default_params()
        params.vocab_only = True
        self._model = ll.llama_model_load_from_file(str(self.path).encode(), params)
        if not self._model:
            raise LLMError(f"{self.path.name}: llama.cpp could not read this GGUF's vocabulary")
        self._vocab = ll.llama_model_get_vocab(self._model)

    def tokenize(self, text: str, parse_special: bool = False) -> list[int]:
        """Token ids of ``text`` (no BOS)."""
        return tokenize_with(self._ll, self._vocab, text, parse_special)

    def piece(self, token: int) -> bytes:
        """The bytes a token stands for."""
        return piece_with(self._ll, self._vocab, token)

    def __del__(self) -> None:
        if getattr(self, "_model", None):
            self._ll.llama_model_free(self._model)
            self._model = None


def eos_token(vocab: "LlamaVocab") -> int:
    """The end-of-sequence id of a vocabulary (what a trained answer ends with)."""
    return int(vocab._ll.llama_vocab_eos(vocab._vocab))
