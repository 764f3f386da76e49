"""TG-IS text vector: the mean of the question's token embeddings in the LLM's input table.

Where ``token_embd.weight`` lies in the LLM's GGUF and how it is stored come from
:func:`~.gguf_facts.gguf_facts` (read once per file version, kept on disk); the table is
memory-mapped and only the rows of the question's tokens are dequantised, with the ``gguf``
package (milliseconds).

Scale: the vector is the mean of the rows **times sqrt(n_embd)** by default (``scaled=True``),
i.e. the token embeddings as Gemma's graph sees them, the same scale at which image tokens are
injected; ``scaled=False`` gives the mean of the raw table rows. The BOS token is not included:
the vector describes the question only.

Tokenisation: llama.cpp's own tokenizer (the GGUF loaded vocabulary-only), so the ids are the
ones the LLM sees; :meth:`TextVectorizer.vector_from_ids` takes ids the caller already has.

Example:
    >>> tv = TextVectorizer.from_gguf(default_gguf_path())          # doctest: +SKIP
    >>> tv.vector("Is there a nodule in the right upper lobe?").shape  # doctest: +SKIP
    (640,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .gguf_facts import GGUFFacts, gguf_facts
from .gguf_module import gguf
from .model_files import default_gguf_path
from .vocab import LlamaVocab

@dataclass
class TextVectorizer:
    """Question text -> TG-IS text vector, from the token embedding table of a GGUF."""

    gguf_path: Path
    facts: GGUFFacts
    _table: np.ndarray = field(repr=False, default=None)  # memory-mapped raw rows
    _vocab: object = field(repr=False, default=None)  # llama.cpp vocabulary, loaded on first use

    @classmethod
    def from_gguf(cls, gguf_path: str | Path | None = None) -> "TextVectorizer":
        """Map the table of ``gguf_path`` (default: the app's LLM)."""
        path = Path(gguf_path) if gguf_path is not None else default_gguf_path()
        facts = gguf_facts(path)
        emb = facts.embedding
        table = np.memmap(path, dtype=np.uint8, mode="r", offset=emb.data_offset, shape=(emb.rows, emb.row_bytes))
        return cls(path, facts, table)

    @property
    def n_embd(self) -> int:
        return self.facts.n_embd

    def embedding_rows(self, ids: list[int] | np.ndarray) -> np.ndarray:
        """Raw (unscaled) float32 rows of the token embedding table, ``(len(ids), n_embd)``."""
        ids = np.asarray(ids, dtype=np.int64)
        raw = np.asarray(self._table[ids])
        rows = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType(self.facts.embedding.tensor_type))
        return rows.reshape(len(ids), self.n_embd).astype(np.float32)

    def vector_from_ids(self, ids: list[int] | np.ndarray, scaled: bool = True) -> np.ndarray:
        """Mean of the rows of ``ids`` (times sqrt(n_embd) if ``scaled``), shape ``(n_embd,)``."""
        if len(ids) == 0:
            raise ValueError("no tokens")
        v = self.embedding_rows(ids).mean(axis=0)
        if scaled:
            v = v * np.float32(math.sqrt(self.n_embd))
        return v.astype(np.float32)

    def vector(self, text: str, scaled: bool = True) -> np.ndarray:
        """TG-IS text vector of a question, ``(n_embd,)`` float32."""
        return self.vector_from_ids(self.tokenize(text), scaled=scaled)

    def tokenize(self, text: str) -> list[int]:
        """The LLM's token ids of ``text`` (llama.cpp's tokenizer, no BOS)."""
        if self._vocab is None:
            self._vocab = LlamaVocab(self.gguf_path)
        return self._vocab.tokenize(text)

    def piece(self, token: int) -> str:
        """The text of one token (for inspection)."""
        self.tokenize("")  # loads the vocabulary
        return self._vocab.piece(token).decode("utf-8", "replace")


def text_vector(question: str, gguf_path: str | Path | None = None, scaled: bool = True) -> np.ndarray:
    """Shortcut: the TG-IS text vector of ``question`` from the default (or given) GGUF."""
    return TextVectorizer.from_gguf(gguf_path).vector(question, scaled=scaled)
