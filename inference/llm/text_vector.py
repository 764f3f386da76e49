"""TG-IS text vector: the mean of the question's token embeddings in the LLM's input table.

Read from the LLM's GGUF with the ``gguf`` package. Opening a GGUF with ``gguf.GGUFReader`` takes
~15-20 s (vocabulary parsing), so the first call writes a small cache next to the app's data
(where ``token_embd.weight`` lies in the file and how it is stored); later calls memory-map
the GGUF and dequantise only the rows of the question's tokens (milliseconds).

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

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..resources import data_dir
from .model_files import default_gguf_path
from .vocab import LlamaVocab

_CACHE_VERSION = 2


def _cache_dir(gguf_path: Path) -> Path:
    st = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{_CACHE_VERSION}"
                         .encode()).hexdigest()[:16]
    return data_dir() / "cache" / "text_vector" / f"{gguf_path.stem}-{key}"


def _build_cache(gguf_path: Path, out: Path) -> None:
    import gguf

    reader = gguf.GGUFReader(str(gguf_path))

    def scalar(name: str, default=None):
        f = reader.fields.get(name)
        if f is None:
            return default
        v = f.parts[f.data[0]]
        return bytes(v).decode() if f.types[0] == gguf.GGUFValueType.STRING else v.tolist()[0]

    arch = scalar("general.architecture")
    emb = next(t for t in reader.tensors if t.name == "token_embd.weight")
    meta = {
        "architecture": arch,
        "n_embd": int(scalar(f"{arch}.embedding_length")),
        "tensor_type": int(emb.tensor_type),
        "data_offset": int(emb.data_offset),  # absolute byte offset of the table in the file
        "rows": int(emb.data.shape[0]),
        "row_bytes": int(emb.data.nbytes // emb.data.shape[0]),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


@dataclass
class TextVectorizer:
    """Question text -> TG-IS text vector, from the token embedding table of a GGUF."""

    gguf_path: Path
    meta: dict
    _table: np.ndarray = field(repr=False, default=None)  # memory-mapped raw rows
    _vocab: object = field(repr=False, default=None)  # llama.cpp vocabulary, loaded on first use

    @classmethod
    def from_gguf(cls, gguf_path: str | Path | None = None) -> "TextVectorizer":
        """Open (and on first use, cache) the table of ``gguf_path`` (default: the app's LLM)."""
        path = Path(gguf_path) if gguf_path is not None else default_gguf_path()
        cache = _cache_dir(path)
        if not (cache / "meta.json").exists():
            _build_cache(path, cache)
        meta = json.loads((cache / "meta.json").read_text())
        table = np.memmap(path, dtype=np.uint8, mode="r", offset=meta["data_offset"],
                          shape=(meta["rows"], meta["row_bytes"]))
        return cls(path, meta, table)

    @property
    def n_embd(self) -> int:
        return int(self.meta["n_embd"])

    def embedding_rows(self, ids: list[int] | np.ndarray) -> np.ndarray:
        """Raw (unscaled) float32 rows of the token embedding table, ``(len(ids), n_embd)``."""
        import gguf

        ids = np.asarray(ids, dtype=np.int64)
        raw = np.asarray(self._table[ids])
        rows = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType(self.meta["tensor_type"]))
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
