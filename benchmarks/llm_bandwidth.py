"""The memory-bandwidth limit of decoding: bytes a generated token reads, and the bandwidth.

On a CPU a decode step reads every weight once (one matrix-vector product per weight
matrix), so ``tokens/s <= bandwidth / bytes_per_token``. The bytes come from the GGUF's own
tensor sizes: every tensor whole, except the token embedding, of which a step reads one row;
when the output head is tied to the embedding (no ``output.weight``, as Gemma), the head
reads the whole matrix as well. The attention reads the KV cache of every earlier position.

The bandwidth is measured, not looked up: ``n_threads`` threads (the model's count) each
OR-reduce their share of a 512 MiB array (many times any last-level cache, so the reads come
from DRAM). numpy's reductions release the GIL, so the threads read in parallel;
an integer OR is one vector load and one OR per 32 bytes, so the loop is bound by the loads
as llama.cpp's quantised dot products are. Best of ``repeats`` passes.

Example:
    >>> per_token = decode_bytes(gguf_path, context=300)                # doctest: +SKIP
    >>> limit = measure_read_bandwidth(n_threads=4) / per_token.total   # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from inference.llm.gguf_facts import EMBEDDING, OUTPUT, gguf_facts

KV_BYTES_F16 = 2  # the runtime's KV cache type (f16) unless exact attention asks for f32


@dataclass(frozen=True)
class TokenBytes:
    """Bytes one decode step reads, by part."""

    weights: int  # every weight tensor whole, but one row of the token embedding
    output_head: int  # the output projection (the embedding matrix again when tied)
    kv_cache: int  # K and V of every layer at the context length

    @property
    def total(self) -> int:
        return self.weights + self.output_head + self.kv_cache


def decode_bytes(gguf_path: str | os.PathLike, context: int, kv_bytes: int = KV_BYTES_F16) -> TokenBytes:
    """Bytes one generated token reads from a GGUF model with ``context`` cached positions.

    Every layer is counted at the full ``context`` (exact below a sliding window; an upper
    bound above it).
    """
    facts = gguf_facts(gguf_path)
    sizes = facts.tensor_bytes
    one_row = facts.embedding.row_bytes
    weights = sum(n for name, n in sizes.items() if name not in (EMBEDDING, OUTPUT)) + one_row
    head = sizes.get(OUTPUT, sizes[EMBEDDING])  # tied: the embedding matrix is the head
    return TokenBytes(weights=weights, output_head=head, kv_cache=facts.kv_per_position * context * kv_bytes)


def measure_read_bandwidth(n_threads: int, size_bytes: int = 512 * 2**20, repeats: int = 7) -> float:
    """Bytes per second that ``n_threads`` threads read from memory together (best pass)."""
    data = np.ones(size_bytes // 8, dtype=np.uint64)  # written once, so every page is mapped
    parts = np.array_split(data, n_threads)
    best = float("inf")
    with ThreadPoolExecutor(n_threads) as pool:
        for _ in range(repeats):
            t0 = time.perf_counter()
            list(pool.map(np.bitwise_or.reduce, parts))
            best = min(best, time.perf_counter() - t0)
    return data.nbytes / best


def limit_report(llm, tokens_per_s: float, context: int) -> list[str]:
    """Lines setting a :class:`~inference.llm.runtime.LlamaRuntime`'s decode speed against bandwidth /
    bytes per token, both measured now (on a GPU the CPU's bandwidth is not the limit)."""
    if llm.offload.on_gpu:
        return [f"  ({llm.offload.describe()}: the CPU memory bandwidth is not this decode's limit)"]
    return limit_lines(tokens_per_s, decode_bytes(llm.path, context), measure_read_bandwidth(llm.n_threads), context)


def limit_lines(tokens_per_s: float, per_token: TokenBytes, bandwidth: float, context: int) -> list[str]:
    """The report: bytes per token by part, the bandwidth, the limit and the fraction of it."""
    limit = bandwidth / per_token.total
    mib = 2**20
    return [
        f"  bytes read per generated token at {context} positions: {per_token.total / mib:.1f} MiB "
        f"(weights {per_token.weights / mib:.1f}, output head {per_token.output_head / mib:.1f}, "
        f"KV cache {per_token.kv_cache / mib:.2f})",
        f"  memory read bandwidth, measured now: {bandwidth / 1e9:.1f} GB/s",
        f"  decode {tokens_per_s:.1f} tokens/s against the bandwidth limit {limit:.1f} tokens/s: "
        f"{tokens_per_s / limit:.2f} of it",
    ]
