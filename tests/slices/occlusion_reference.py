"""An independent reference for occlusion relevance: a fresh llama.cpp context driven through
llama-cpp-python's own low-level API (no ctchat runtime code), decoding the whole prompt with a
slab's image tokens replaced by zero vectors at the same positions, then the answer
teacher-forced (tests/slices/test_occlusion_parity.py, tests/convert/test_convert_lamed.py)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from inference.chat.relevance import _slabs, occlusion_relevance


def recompute_logprob(gguf: Path, chunks: list, zeroed: tuple[int, int] | None, answer: list[int],
                      bidirectional: bool, lora: Path | None = None, exact: bool = True) -> float:
    """log P(answer | prompt with positions ``zeroed`` of its image chunks set to zero vectors),
    from a fresh llama.cpp context; ``chunks`` are the prompt's token-id lists and embedding
    arrays in order, the question's last."""
    import llama_cpp as ll

    model = ll.llama_model_load_from_file(str(gguf).encode(), ll.llama_model_default_params())
    cparams = ll.llama_context_default_params()
    cparams.n_ctx, cparams.n_batch, cparams.n_ubatch, cparams.n_threads, cparams.n_threads_batch = 4096, 512, 512, 2, 2
    if exact:
        cparams.type_k = cparams.type_v = 0  # f32 cache
    cparams.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
    ctx = ll.llama_init_from_model(model, cparams)
    if lora is not None:
        adapter = ll.llama_adapter_lora_init(model, str(lora).encode())
        ll.llama_set_adapters_lora(ctx, (ll.llama_adapter_lora_p_ctypes * 1)(adapter), 1, (ctypes.c_float * 1)(1.0))
    n_vocab = ll.llama_vocab_n_tokens(ll.llama_model_get_vocab(model))
    n_embd = ll.llama_model_n_embd_inp(model)

    def logits(i: int) -> np.ndarray:
        return np.ctypeslib.as_array(ll.llama_get_logits_ith(ctx, i), shape=(n_vocab,)).astype(np.float64)

    def log_softmax(row: np.ndarray, token: int) -> float:
        return float(row[token] - row.max() - np.log(np.exp(row - row.max()).sum()))

    pos, items = 0, chunks + [list(answer[:-1])]
    total, prev = 0.0, None
    try:
        for n_item, item in enumerate(items):
            if not len(item):
                continue
            is_image, answer_part = isinstance(item, np.ndarray), n_item == len(items) - 1
            batch = ll.llama_batch_init(len(item), n_embd if is_image else 0, 1)
            if is_image:
                data = np.array(item, dtype=np.float32)
                if zeroed is not None:
                    data[max(zeroed[0] - pos, 0): max(zeroed[1] - pos, 0)] = 0.0
                ctypes.memmove(batch.embd, np.ascontiguousarray(data).ctypes.data, data.nbytes)
                ll.llama_set_causal_attn(ctx, not bidirectional)
            for n in range(len(item)):
                if not is_image:
                    batch.token[n] = item[n]
                batch.pos[n], batch.n_seq_id[n], batch.seq_id[n][0] = pos + n, 1, 0
                batch.logits[n] = 1 if answer_part or (n_item == len(items) - 2 and n == len(item) - 1) else 0
            batch.n_tokens = len(item)
            assert ll.llama_decode(ctx, batch) == 0
            ll.llama_set_causal_attn(ctx, True)
            if n_item == len(items) - 2:
                prev = logits(len(item) - 1)
            if answer_part:
                for n in range(len(item)):
                    total += log_softmax(prev, answer[n])
                    prev = logits(n)
            ll.llama_batch_free(batch)
            pos += len(item)
        total += log_softmax(prev, answer[-1])
    finally:
        ll.llama_free(ctx)
        ll.llama_model_free(model)
    return float(total)


def relevance_and_recompute(session, answer, bidirectional: bool, lora=None, exact: bool = True):
    relevance = occlusion_relevance(session, answer)
    _, question, _ = session.question_chunks(answer.question)
    chunks = session.prefix_chunks() + list(question)
    spans = _slabs(session)[0]
    base = recompute_logprob(session.llm.path, chunks, None, answer.token_ids, bidirectional, lora, exact)
    full = np.array([base - recompute_logprob(session.llm.path, chunks, s, answer.token_ids, bidirectional, lora, exact)
                     for s in spans])
    return relevance, base, full
