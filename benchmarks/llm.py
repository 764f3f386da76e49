"""``ctchat bench llm``: our generation loop against a bare llama.cpp loop, and the reused
image-prefix cache against recomputing the whole prompt.

The baseline is llama.cpp's ``simple`` example as a loop on the same C API and library: sample
greedily, render the piece, decode one token. Both loops generate exactly the same tokens
(greedy, same logits), so the timings compare the same work. The decode speed is also set
against the machine's limit measured in the same run: memory read bandwidth over the bytes a
token reads (see :mod:`.llm_bandwidth`). The first token of a reopened scan, its prefix's KV state
read back from a file as the scan cache does, is set against a cold start (the whole prompt
decoded; ``bench bundle`` adds the vision graphs a cold start also runs).
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from inference.llm.errors import LLMError
from inference.llm.model_files import default_gguf_path
from inference.llm.prompt import DEFAULT_TEMPLATE, PromptFormat
from inference.llm.runtime import LlamaRuntime

from .llm_bandwidth import limit_report

PROMPT = "<bos>Radiology report. Chest CT without contrast.\nFindings: The lungs"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench llm`` target."""
    p = subparsers.add_parser("llm", help="LLM loop vs bare llama.cpp; reused KV cache vs recompute")
    p.add_argument("--gguf", help="model file (default: the bundled Gemma 3 270M)")
    p.add_argument("--tokens", type=int, default=64, help="tokens generated per run (default 64)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs of each (default 5)")
    p.add_argument("--image-tokens", type=int, default=256, help="3D image tokens in the prefix (default 256)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.set_defaults(func=run)


def bare_llama_loop(llm: LlamaRuntime, pos: int, n_tokens: int) -> list[int]:
    """llama.cpp's ``simple`` loop on the C API: greedy sample, render the piece, decode one token."""
    ll = llm._ll
    sampler = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
    ll.llama_sampler_chain_add(sampler, ll.llama_sampler_init_greedy())
    batch = ll.llama_batch_init(1, 0, 1)
    buf = ctypes.create_string_buffer(128)
    out = []
    try:
        for _ in range(n_tokens):
            token = ll.llama_sampler_sample(sampler, llm._ctx, -1)
            ll.llama_token_to_piece(llm._vocab, token, buf, len(buf), 0, False)
            out.append(token)
            batch.token[0], batch.pos[0], batch.n_seq_id[0] = token, pos, 1
            batch.seq_id[0][0], batch.logits[0], batch.n_tokens = 0, 1, 1
            ll.llama_decode(llm._ctx, batch)
            pos += 1
    finally:
        ll.llama_batch_free(batch)
        ll.llama_sampler_free(sampler)
    return out


def _ours(llm: LlamaRuntime, prompt_ids: list[int], n_tokens: int) -> tuple[float, list[int]]:
    llm.clear()
    pos = llm.decode([prompt_ids], 0)
    tokens: list[int] = []
    t0 = time.perf_counter()
    for _ in llm.generate(pos, max_tokens=n_tokens, on_token=tokens.append):
        pass
    return time.perf_counter() - t0, tokens


def _bare(llm: LlamaRuntime, prompt_ids: list[int], n_tokens: int) -> tuple[float, list[int]]:
    llm.clear()
    pos = llm.decode([prompt_ids], 0)
    t0 = time.perf_counter()
    tokens = bare_llama_loop(llm, pos, n_tokens)
    return time.perf_counter() - t0, tokens


def _time_to_first_token(llm: LlamaRuntime, scan: list, question: list, reuse_from: int | None) -> float:
    """Decode the prompt (all of it, or only the question part after ``reuse_from``, the cached
    scan part) and sample one token."""
    t0 = time.perf_counter()
    if reuse_from is None:
        llm.clear()
        pos = llm.decode(scan + question, 0)
    else:
        llm.truncate(reuse_from)
        pos = llm.decode(question, reuse_from)
    next(iter(llm.generate(pos, max_tokens=1)), None)
    return time.perf_counter() - t0


def _reopened_first_token(llm: LlamaRuntime, state_file: Path, prefix_end: int, question: list) -> float:
    """Read the prefix's saved KV state from ``state_file`` into the context, decode the
    question on top and sample one token (a scan reopened from the scan cache)."""
    t0 = time.perf_counter()
    if not llm.load_cache(state_file.read_bytes()):
        raise LLMError("llama.cpp refused to read back the KV state it saved")
    pos = llm.decode(question, prefix_end)
    next(iter(llm.generate(pos, max_tokens=1)), None)
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> int:
    """Print both comparisons: medians side by side, and the ratios."""
    llm = LlamaRuntime(args.gguf or default_gguf_path(), n_ctx=2048, n_batch=512, n_threads=args.threads)
    prompt_ids = llm.tokenize(PROMPT)
    _, reference = _ours(llm, prompt_ids, args.tokens)  # warm-up, and the tokens to match
    n = len(reference)
    ours_t, bare_t = [], []
    for _ in range(args.repeats):  # interleaved so both see the same machine state
        t, toks = _ours(llm, prompt_ids, n)
        ours_t.append(t)
        t, base_toks = _bare(llm, prompt_ids, n)
        bare_t.append(t)
    same = toks == base_toks == reference
    m_ours, m_bare = statistics.median(ours_t), statistics.median(bare_t)
    print(f"LLM generation, {llm.path.name}, {llm.n_threads} threads, {n} tokens after a "
          f"{len(prompt_ids)}-token prompt, median of {args.repeats}")
    print(f"  {'loop':<30}{'tokens/s':>10}{'ms/token':>10}")
    print(f"  {'ctchat LlamaRuntime.generate':<30}{n / m_ours:>10.1f}{1000 * m_ours / n:>10.2f}")
    print(f"  {'bare llama.cpp loop (simple)':<30}{n / m_bare:>10.1f}{1000 * m_bare / n:>10.2f}")
    print(f"  overhead of our loop: {100 * (m_ours / m_bare - 1):+.1f} %   (same tokens: {same})")
    # a step reads the cache of every earlier position: on average, the middle of the answer
    print("\n".join(limit_report(llm, n / m_ours, len(prompt_ids) + n // 2)))

    rng = np.random.default_rng(0)
    fmt = PromptFormat(template=DEFAULT_TEMPLATE)
    image_3d = rng.normal(0, 1, (args.image_tokens, llm.n_embd)).astype(np.float32)
    image_2d = rng.normal(0, 1, (32, llm.n_embd)).astype(np.float32)
    images = {"image_3d": image_3d, "image_2d": image_2d}
    scan = llm.prompt_chunks(fmt.scan_segments(), images)
    question = llm.prompt_chunks(fmt.question_segments("Question: Is there a nodule in the right upper lobe?\nAnswer:"), images)
    llm.clear()
    prefix_end = llm.decode(scan, 0, want_logits=False)
    reuse_t, full_t, reopen_t = [], [], []
    with tempfile.TemporaryDirectory(prefix="ctchat-bench-kv-") as folder:
        state_file = Path(folder) / "prefix.kv"
        state_file.write_bytes(llm.save_cache())
        for _ in range(args.repeats):
            full_t.append(_time_to_first_token(llm, scan, question, None))
            # the cache now starts with the same prefix: a follow-up only truncates back to it
            reuse_t.append(_time_to_first_token(llm, scan, question, prefix_end))
            reopen_t.append(_reopened_first_token(llm, state_file, prefix_end, question))
    total = prefix_end + sum(len(x) for x in question)
    m_reuse, m_full, m_reopen = (statistics.median(t) for t in (reuse_t, full_t, reopen_t))
    print(f"\nFollow-up question, time to first token (prompt {total} positions: "
          f"{prefix_end} cached prefix incl. {args.image_tokens} 3D image tokens, "
          f"{len(image_2d)} 2D tokens + {len(question[-1])} question tokens), median of {args.repeats}")
    print(f"  reused image-prefix KV cache  {1000 * m_reuse:8.1f} ms")
    print(f"  recompute the whole prompt    {1000 * m_full:8.1f} ms")
    print(f"  ratio recompute / reuse: {m_full / m_reuse:.1f}x")
    print(f"  reopened scan: prefix KV state read from a file  {1000 * m_reopen:8.1f} ms")
    print(f"  ratio cold start (whole prompt) / reopened: {m_full / m_reopen:.1f}x")
    llm.close()
    return 0
