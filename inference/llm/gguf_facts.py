"""What the app needs to know about a GGUF file, read once per file version and kept on disk.

``gguf.GGUFReader`` takes ~25 s over a large vocabulary (Gemma 3's 262k tokens are parsed
one by one), and both the TG-IS text vector (where the token embedding table lies) and the
bandwidth limit (every tensor's size, the KV width) need a few numbers from the header. They
are read once per file version, written as one small JSON file under the app's cache
(named by the model file's stem and a hash of its path, size and mtime: no patient data), and
kept in memory for the process.

Example:
    >>> facts = gguf_facts(default_gguf_path())       # doctest: +SKIP
    >>> facts.n_embd, facts.embedding.rows            # doctest: +SKIP
    (640, 262144)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..resources import data_dir

FACTS_VERSION = 1
EMBEDDING, OUTPUT = "token_embd.weight", "output.weight"


@dataclass(frozen=True)
class TensorPlace:
    """Where a tensor's rows lie in the file and how they are stored."""

    tensor_type: int  # gguf.GGMLQuantizationType
    data_offset: int  # absolute byte offset in the file
    rows: int
    row_bytes: int


@dataclass(frozen=True)
class GGUFFacts:
    """The header facts of one GGUF file."""

    architecture: str
    n_embd: int
    embedding: TensorPlace  # token_embd.weight
    tensor_bytes: dict[str, int]  # every tensor's stored size
    kv_per_position: int  # K and V elements one cached position holds over all layers

    @classmethod
    def from_json(cls, data: dict) -> "GGUFFacts":
        return cls(**{**data, "embedding": TensorPlace(**data["embedding"])})


def gguf_facts(path: str | os.PathLike) -> GGUFFacts:
    """The facts of the GGUF at ``path`` (read with gguf's reader the first time a file
    version is seen, then from the cache)."""
    resolved = Path(path).resolve()
    st = resolved.stat()
    return _facts(str(resolved), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _facts(path: str, size: int, mtime_ns: int) -> GGUFFacts:
    key = hashlib.sha256(f"{path}|{size}|{mtime_ns}|{FACTS_VERSION}".encode()).hexdigest()[:16]
    cached = data_dir() / "cache" / "gguf_facts" / f"{Path(path).stem}-{key}.json"
    if cached.exists():
        try:
            return GGUFFacts.from_json(json.loads(cached.read_text()))
        except (ValueError, TypeError, KeyError):  # a damaged cache file is read again
            pass
    facts = _read(path)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(facts), indent=1))
    partial.replace(cached)  # whole or not at all, for other processes reading it
    return facts


def _read(path: str) -> GGUFFacts:
    from .gguf_module import gguf

    reader = gguf.GGUFReader(path)

    def field(key: str, default=None):
        f = reader.fields.get(key)
        if f is None:
            return default
        value = f.contents()
        return max(value) if isinstance(value, list) else value  # per-layer lists: the widest

    arch = field("general.architecture")
    emb = next(t for t in reader.tensors if t.name == EMBEDDING)
    n_embd = int(field(f"{arch}.embedding_length"))
    heads = field(f"{arch}.attention.head_count")
    kv_heads = field(f"{arch}.attention.head_count_kv", heads)
    head_dim = n_embd // heads
    k_len = field(f"{arch}.attention.key_length", head_dim)
    v_len = field(f"{arch}.attention.value_length", head_dim)
    rows = int(emb.data.shape[0])
    return GGUFFacts(
        architecture=arch,
        n_embd=n_embd,
        embedding=TensorPlace(int(emb.tensor_type), int(emb.data_offset), rows, int(emb.data.nbytes // rows)),
        tensor_bytes={t.name: int(t.n_bytes) for t in reader.tensors},
        kv_per_position=int(field(f"{arch}.block_count")) * int(kv_heads) * int(k_len + v_len),
    )
