"""A GGUF file's header, read without parsing its arrays: the scalar metadata and whether the
file holds all the tensor data the header promises.

llama.cpp aborts the whole process on some damaged files (a truncated download, a projector
given as the model) instead of returning an error, so every GGUF a slice-set bundle names is
read here first, in a fraction of a second even for Gemma 3's 262k-token vocabulary (arrays
are skipped, not decoded; ``gguf.GGUFReader`` decodes them and takes ~25 s).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = b"GGUF"
# GGUF value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64, 11 i64, 12 f64
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9


@dataclass(frozen=True)
class GGUFHeader:
    """The scalar metadata (``general.architecture`` ...) and the data extent of one GGUF."""

    path: Path
    fields: dict[str, Any]
    n_tensors: int
    data_end: int  # the byte the last tensor's data ends at
    file_size: int

    @property
    def architecture(self) -> str:
        return str(self.fields.get("general.architecture", ""))

    @property
    def is_projector(self) -> bool:
        """A vision (or audio) projector for a multimodal model (llama.cpp's ``clip``)."""
        return self.architecture == "clip"

    @property
    def embedding_length(self) -> int:
        """The text model's width (0 for a projector)."""
        return int(self.fields.get(f"{self.architecture}.embedding_length", 0) or 0)

    @property
    def projection_dim(self) -> int:
        """The width of the image tokens a projector makes (0 for a text model)."""
        return int(self.fields.get("clip.vision.projection_dim", 0) or 0)

    @property
    def complete(self) -> bool:
        return self.data_end <= self.file_size


class _Cursor:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.at = buf, 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.buf):
            raise EOFError
        (value,) = struct.unpack_from(fmt, self.buf, self.at)
        self.at += size
        return value

    def string(self) -> str:
        n = self.take("<Q")
        if self.at + n > len(self.buf):
            raise EOFError
        text = bytes(self.buf[self.at:self.at + n]).decode("utf-8", "replace")
        self.at += n
        return text

    def skip_value(self, vtype: int) -> Any:
        """A scalar or string value; an array is skipped (None)."""
        if vtype in _SCALARS:
            return self.take(_SCALARS[vtype])
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            itype, count = self.take("<I"), self.take("<Q")
            if itype in _SCALARS:
                self.at += struct.calcsize(_SCALARS[itype]) * count
            else:
                for _ in range(count):
                    self.skip_value(itype)
            return None
        raise ValueError(f"unknown GGUF value type {vtype}")


def read_gguf_header(path: str | Path) -> GGUFHeader:
    """The header of the GGUF at ``path``.

    Raises:
        ValueError: not a GGUF, or cut short (one sentence naming the file).
    """
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if fh.read(4) != MAGIC:
            raise ValueError(f"{path.name} is not a GGUF file")
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        cur = _Cursor(buf)
        cur.at = 4
        try:
            version, n_tensors, n_kv = cur.take("<I"), cur.take("<Q"), cur.take("<Q")
            fields: dict[str, Any] = {}
            for _ in range(n_kv):
                key = cur.string()
                value = cur.skip_value(cur.take("<I"))
                if value is not None:
                    fields[key] = value
            end = 0
            for _ in range(n_tensors):
                cur.string()
                dims = [cur.take("<Q") for _ in range(cur.take("<I"))]
                qtype, offset = cur.take("<I"), cur.take("<Q")
                block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(qtype)]
                count = 1
                for d in dims:
                    count *= d
                end = max(end, offset + count // block * type_size)
        except EOFError:
            raise ValueError(f"{path.name} is cut short (an unfinished download?): its header is incomplete") from None
        alignment = int(fields.get("general.alignment", 32))
        data_start = -(-cur.at // alignment) * alignment
        header = GGUFHeader(path, fields, n_tensors, data_start + end, size)
    finally:
        buf.close()
    if version < 2:
        raise ValueError(f"{path.name} is a GGUF version {version}, older than llama.cpp reads")
    if not header.complete:
        raise ValueError(f"{path.name} is cut short (an unfinished download?): it holds {size:,} of the "
                         f"{header.data_end:,} bytes its header describes")
    return header
