"""Bytes a generated token reads, from a GGUF's tensor sizes: hand-counted on small files
written here, and the real default model's figures against its file."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.llm_bandwidth import decode_bytes, limit_lines, measure_read_bandwidth

VOCAB, EMBD, FFN = 100, 8, 16


def _write(path, tied: bool) -> None:
    """One layer: f32 embedding (100 rows of 8), f16 matrices, f32 norm; 2 heads, 1 KV head."""
    from gguf import GGUFWriter

    w = GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    w.add_embedding_length(EMBD)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_tensor("token_embd.weight", np.zeros((VOCAB, EMBD), np.float32))
    w.add_tensor("blk.0.attn_q.weight", np.zeros((EMBD, EMBD), np.float16))
    w.add_tensor("blk.0.ffn_up.weight", np.zeros((FFN, EMBD), np.float16))
    w.add_tensor("blk.0.attn_norm.weight", np.zeros(EMBD, np.float32))
    if not tied:
        w.add_tensor("output.weight", np.zeros((VOCAB, EMBD), np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.mark.parametrize("tied", [False, True])
def test_bytes_per_token_counted_by_hand(tmp_path, tied):
    path = tmp_path / "m.gguf"
    _write(path, tied)
    got = decode_bytes(path, context=10)
    # one embedding row (8 f32), q (8x8 f16), up (16x8 f16), the norm (8 f32)
    assert got.weights == 8 * 4 + 64 * 2 + 128 * 2 + 8 * 4
    # separate head: 100x8 f16; tied: the f32 embedding matrix is read whole
    assert got.output_head == (VOCAB * EMBD * 4 if tied else VOCAB * EMBD * 2)
    # 1 layer x 10 positions x 1 KV head x (K 4 + V 4 wide) x 2 bytes (f16)
    assert got.kv_cache == 10 * (4 + 4) * 2
    assert got.total == got.weights + got.output_head + got.kv_cache


def test_default_model_counts_its_tensors_once(tmp_path):
    """Gemma 3 270M (tied head): weights + head = the file's tensor data, plus one row."""
    from gguf import GGUFReader

    from inference.llm.model_files import default_gguf_path

    path = default_gguf_path()
    reader = GGUFReader(str(path))
    emb = next(t for t in reader.tensors if t.name == "token_embd.weight")
    row = int(emb.n_bytes) // int(emb.shape[-1])
    data = path.stat().st_size - reader.data_offset  # tensor data with alignment padding
    got = decode_bytes(path, context=0)
    tensors = got.weights + got.output_head - row
    assert got.output_head == emb.n_bytes
    assert data - 32 * len(reader.tensors) <= tensors <= data
    assert got.kv_cache == 0
    # Gemma 3 270M: 18 layers, 1 KV head of 256 (K and V), f16
    assert decode_bytes(path, context=100).kv_cache == 18 * 100 * 1 * 512 * 2


def test_limit_lines_report_the_fraction(tmp_path):
    path = tmp_path / "m.gguf"
    _write(path, tied=False)
    per_token = decode_bytes(path, context=10)
    lines = limit_lines(50.0, per_token, bandwidth=100.0 * per_token.total, context=10)
    assert lines[-1].endswith("limit 100.0 tokens/s: 0.50 of it")


def test_bandwidth_is_measured_with_several_threads():
    assert 1e8 < measure_read_bandwidth(2, size_bytes=32 * 2**20, repeats=2) < 1e13


def test_gguf_facts_are_kept_per_file_version(tmp_path, monkeypatch):
    """Read once, kept on disk; a damaged cache file is read again; a changed file misses."""
    import os

    from inference.llm.gguf_facts import _facts, gguf_facts

    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "m.gguf"
    _write(path, tied=False)
    first = gguf_facts(path)
    assert first.n_embd == EMBD and first.embedding.rows == VOCAB and "output.weight" in first.tensor_bytes
    kept = list((tmp_path / "data" / "cache" / "gguf_facts").glob("m-*.json"))
    assert len(kept) == 1
    _facts.cache_clear()
    assert gguf_facts(path) == first  # from the file on disk
    _facts.cache_clear()
    kept[0].write_text("{damaged")
    assert gguf_facts(path) == first
    mtime = path.stat().st_mtime_ns
    _write(path, tied=True)
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))
    assert "output.weight" not in gguf_facts(path).tensor_bytes
