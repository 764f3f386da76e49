"""`LlamaRuntime`: one GGUF model and one context, fed token ids and embedding vectors.

Built on llama.cpp's C API (through llama-cpp-python's ctypes bindings) in short, direct
loops, as llama.cpp's own examples are. A prompt is a list of chunks, token ids or embeddings
(one ``llama_batch`` holds either), decoded by one loop with positions set by hand.
The KV cache is one sequence (id 0); :meth:`truncate` drops everything after a position, which
is how a scan's image prefix is kept while each question is decoded on top of it.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import ContextOverflow, LLMError
from .generation import Generation, SamplingParams  # noqa: F401 - SamplingParams is part of this module's API
from .library import captured_log, check_gguf_file, llama_library
from .offload import LayerOffload, gpu_layers_setting, parse_layer_devices
from .prompt import Segment
from .vocab import piece_with, tokenize_with

SEQ = 0  # the single sequence this runtime uses
GGML_TYPE_F32 = 0  # ggml's type id of float32 (for the KV cache of exact attention)

# One piece of a prompt: token ids, or input embeddings (one row per position)
Chunk = Sequence[int] | np.ndarray


class LlamaRuntime(Generation):
    """A loaded GGUF model with its context; the mechanics of feeding and sampling.

    Args:
        gguf_path: the model file.
        n_ctx: context window in tokens (image tokens included).
        n_batch: tokens per ``llama_decode`` call and per micro-batch.
        n_threads: CPU threads (default: all cores).
        lora_path: optional GGUF LoRA adapter applied at ``lora_scale``.
        exact_attention: keep the KV cache in float32 (and skip flash attention, which rounds
            to float16): slower, for parity checks against a float32 reference. Flash
            attention is off whenever no layer runs on a GPU (``flash_attention`` says which).
        n_gpu_layers: layers to offload (-1: all); None: ``CTCHAT_GPU_LAYERS``, else all when
            this llama.cpp build can offload. Where they went is read back into ``offload``.
        n_seq: sequences the cache holds (one unified buffer: a copied prefix shares its cells);
            a second one scores what-if variants of the prompt (occlusion) beside the answer's.
        full_swa_cache: sliding-window layers cache every position (llama.cpp's default, which
            lets a cache be cut back anywhere); False keeps only their window (a 4B Gemma 3 at
            85 slices: ~0.6 GiB instead of ~3.2), for sessions that restore a saved state instead.

    Raises:
        LLMError: the file is missing, not a GGUF, damaged, or the adapter does not fit.
    """

    def __init__(
        self,
        gguf_path: str | os.PathLike,
        n_ctx: int = 2048,
        n_batch: int = 512,
        n_threads: int | None = None,
        lora_path: str | os.PathLike | None = None,
        lora_scale: float = 1.0,
        exact_attention: bool = False,
        n_gpu_layers: int | None = None,
        n_seq: int = 1,
        full_swa_cache: bool = True,
    ) -> None:
        self.path = Path(gguf_path)
        check_gguf_file(self.path, "model")
        ll = self._ll = llama_library()
        mparams = ll.llama_model_default_params()
        mparams.n_gpu_layers = gpu_layers_setting(n_gpu_layers, bool(ll.llama_supports_gpu_offload()))
        with captured_log() as load_log:
            self._model = ll.llama_model_load_from_file(str(self.path).encode(), mparams)
        if not self._model:
            raise LLMError(f"{self.path.name}: llama.cpp could not load this GGUF (damaged or unsupported)")
        self.offload = LayerOffload(ll.llama_model_n_layer(self._model), mparams.n_gpu_layers,
                                    parse_layer_devices(load_log))
        threads = n_threads or max(1, os.cpu_count() or 1)
        cparams = ll.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.no_perf = True
        cparams.n_seq_max = max(1, n_seq)
        cparams.kv_unified = True
        cparams.swa_full = self.full_swa_cache = bool(full_swa_cache)
        self.n_seq = cparams.n_seq_max
        if exact_attention:
            cparams.type_k = cparams.type_v = GGML_TYPE_F32
        if exact_attention or self.offload.on_gpu == 0:
            # on the CPU llama.cpp's flash attention over an f16 cache slows each token by about
            # 0.09 ms per cached position on a 4B model (1.5x at 900 positions); without it decode
            # stays flat and prefill is as fast (docs/performance.md). A GPU keeps llama.cpp's choice.
            cparams.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self.flash_attention = cparams.flash_attn_type != ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self._ctx = ll.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            ll.llama_model_free(self._model)
            raise LLMError(f"{self.path.name}: could not create a llama.cpp context of {n_ctx} tokens")
        self.model_pointer = self._model  # llama.cpp's handle, for a vision projector bound to this model
        self._vocab = ll.llama_model_get_vocab(self._model)
        self._memory = ll.llama_get_memory(self._ctx)
        self.n_ctx = ll.llama_n_ctx(self._ctx)
        self.n_batch = n_batch
        self.n_threads = threads
        self.n_embd = ll.llama_model_n_embd_inp(self._model)
        self.n_vocab = ll.llama_vocab_n_tokens(self._vocab)
        self.n_swa = int(ll.llama_model_n_swa(self._model))  # sliding-window size (0: none)
        self._adapter = None
        if lora_path is not None:
            self._load_adapter(Path(lora_path), lora_scale)

    def chat_template(self) -> str | None:
        """The chat template the GGUF carries (``tokenizer.chat_template``), or None."""
        raw = self._ll.llama_model_chat_template(self._model, None)
        return raw.decode("utf-8") if raw else None

    def token_text(self, token: int) -> str:
        """The text of a token as the vocabulary stores it (``<bos>``, ``<start_of_image>``)."""
        return self._ll.llama_vocab_get_text(self._vocab, token).decode("utf-8", "replace")

    def bos_token(self) -> int:
        """The vocabulary's BOS token id (-1 when it has none)."""
        return int(self._ll.llama_vocab_bos(self._vocab))

    # --- text <-> tokens -----------------------------------------------------------------

    def tokenize(self, text: str, parse_special: bool = True) -> list[int]:
        """Token ids of ``text``; special tokens written as text (``<bos>``) become their ids.

        No BOS is added: prompt formats write it explicitly.
        """
        return tokenize_with(self._ll, self._vocab, text, parse_special)

    def piece(self, token: int) -> bytes:
        """The bytes a token stands for (special tokens render as empty)."""
        return piece_with(self._ll, self._vocab, token)

    def is_end_of_generation(self, token: int) -> bool:
        """True for end-of-sequence / end-of-turn tokens."""
        return bool(self._ll.llama_vocab_is_eog(self._vocab, token))

    # --- decoding ------------------------------------------------------------------------

    def decode(self, chunks: Sequence[Chunk], pos: int, want_logits: bool = True,
               bidirectional_images: bool = False, seq: int = SEQ) -> int:
        """Evaluate a prompt given as chunks, in order from position ``pos``: a list of token ids
        or an array of input embeddings (rows already at the model's embedding scale), as
        llama.cpp's multimodal helper evaluates its text and image chunks. With ``want_logits``
        the logits of the very last position are kept for sampling. Returns the next free
        position.

        ``bidirectional_images``: each embedding chunk attends to itself both ways (causal
        attention off, one batch), as Gemma 3 reads an image and mtmd decodes it.

        Raises:
            ContextOverflow: the chunks do not fit in the context after ``pos``.
            LLMError: an embedding chunk's width is not the model's input width, or a
                bidirectional image does not fit in one batch.
        """
        chunks = [self._checked(chunk) for chunk in chunks]
        self.check_fits(pos, sum(len(chunk) for chunk in chunks))
        ll = self._ll
        for n_chunk, chunk in enumerate(chunks):
            embd = self.n_embd if isinstance(chunk, np.ndarray) else 0
            whole = bool(embd) and bidirectional_images
            if whole and len(chunk) > self.n_batch:
                raise LLMError(f"an image of {len(chunk)} tokens does not fit in one batch of {self.n_batch}")
            if whole:
                ll.llama_set_causal_attn(self._ctx, False)
            for start in range(0, len(chunk), self.n_batch):
                part = chunk[start : start + self.n_batch]
                last = want_logits and n_chunk == len(chunks) - 1 and start + len(part) == len(chunk)
                batch = ll.llama_batch_init(len(part), embd, 1)
                try:
                    if embd:
                        ctypes.memmove(batch.embd, part.ctypes.data, part.nbytes)
                    else:
                        for n, token in enumerate(part):
                            batch.token[n] = token
                    for n in range(len(part)):
                        self._place(batch, n, pos + n, last and n == len(part) - 1, seq)
                    batch.n_tokens = len(part)
                    self._decode(batch)
                finally:
                    ll.llama_batch_free(batch)
                    if whole:
                        ll.llama_set_causal_attn(self._ctx, True)
                pos += len(part)
        return pos

    def prompt_chunks(self, segments: Sequence[Segment], images: dict[str, np.ndarray]) -> list[Chunk]:
        """The chunks of a prompt format's segments: token ids for text and ids, the vectors in
        ``images`` (by slot name, e.g. ``"image_3d"``) for an image slot; a segment that comes
        to no tokens is left out."""
        chunks: list[Chunk] = []
        for segment in segments:
            ids = segment.token_ids(self.tokenize)
            if ids is None:
                chunks.append(images[segment.kind])
            elif ids:
                chunks.append(ids)
        return chunks

    def _checked(self, chunk: Chunk) -> Chunk:
        """Embedding chunks as contiguous float32 of the model's input width; ids as they are."""
        if not isinstance(chunk, np.ndarray):
            return chunk
        vectors = np.ascontiguousarray(chunk, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.n_embd:
            raise LLMError(
                f"image tokens have width {vectors.shape[-1]}, but {self.path.name} expects "
                f"{self.n_embd}: the vision side and the LLM of this bundle do not match"
            )
        return vectors

    def copy_positions(self, src: int, dst: int, p0: int, p1: int) -> None:
        """Make sequence ``dst`` hold ``src``'s cached positions ``[p0, p1)`` (shared cells, no copy)."""
        self._ll.llama_memory_seq_cp(self._memory, src, dst, p0, p1)

    def remove_positions(self, seq: int, p0: int, p1: int) -> None:
        """Drop positions ``[p0, p1)`` of sequence ``seq`` (-1 for an open end); the positions
        after them keep their numbers and their cached state."""
        if not self._ll.llama_memory_seq_rm(self._memory, seq, p0, p1):
            raise LLMError(f"llama.cpp could not drop positions {p0}..{p1} of sequence {seq}")

    def continuation_logprob(self, chunks: Sequence[Chunk], target: Sequence[int], pos: int, seq: int = SEQ) -> float:
        """Teacher forcing: decode ``chunks`` then ``target`` (all but its last token) from
        ``pos`` in sequence ``seq`` and return the summed log-probability of each target token
        given everything before it."""
        if not target:
            return 0.0
        self.decode(list(chunks), pos, want_logits=True, seq=seq)
        total = _log_softmax_at(self.last_logits(), target[0])
        ids = list(target[:-1])
        pos += sum(len(c) for c in chunks)
        ll = self._ll
        for start in range(0, len(ids), self.n_batch):
            part = ids[start : start + self.n_batch]
            self.check_fits(pos, len(part))
            batch = ll.llama_batch_init(len(part), 0, 1)
            try:
                for n, token in enumerate(part):
                    batch.token[n] = token
                    self._place(batch, n, pos + n, True, seq)
                batch.n_tokens = len(part)
                self._decode(batch)
                for n in range(len(part)):
                    row = np.ctypeslib.as_array(ll.llama_get_logits_ith(self._ctx, n), shape=(self.n_vocab,))
                    total += _log_softmax_at(row, target[start + n + 1])
            finally:
                ll.llama_batch_free(batch)
            pos += len(part)
        return float(total)

    def truncate(self, n_keep: int) -> None:
        """Forget every cached position from ``n_keep`` on (keep the first ``n_keep``)."""
        if not self._ll.llama_memory_seq_rm(self._memory, SEQ, n_keep, -1):
            raise LLMError(f"llama.cpp could not drop the cache after position {n_keep}")

    def n_cached(self) -> int:
        """How many positions the KV cache holds (one past the last cached position)."""
        return int(self._ll.llama_memory_seq_pos_max(self._memory, SEQ)) + 1

    def clear(self) -> None:
        """Empty the KV cache."""
        self._ll.llama_memory_clear(self._memory, True)

    def save_cache(self) -> np.ndarray:
        """The KV cache of the sequence (llama.cpp's sequence state) as uint8, written by
        llama.cpp straight into the array; restore it with :meth:`load_cache` into a context of
        the same model and cache type. (A 4B model's cache of a scan is about 100 MB: every
        copy of it costs a tenth of a second, a per-byte one seconds.)"""
        ll = self._ll
        state = np.empty(ll.llama_state_seq_get_size(self._ctx, SEQ), np.uint8)
        written = ll.llama_state_seq_get_data(self._ctx, _uint8_pointer(state), state.size, SEQ)
        return state[:written]

    def load_cache(self, data: bytes | np.ndarray) -> bool:
        """Replace the KV cache with one :meth:`save_cache` wrote (bytes or a uint8 array, read
        in place); False (cache emptied) when llama.cpp refuses it (another model, cache type
        or context size)."""
        self.clear()
        state = np.frombuffer(data, np.uint8)
        if self._ll.llama_state_seq_set_data(self._ctx, _uint8_pointer(state), state.size, SEQ) == 0:
            self.clear()
            return False
        return True

    def last_logits(self) -> np.ndarray:
        """A copy of the logits of the last decoded token that asked for them."""
        ptr = self._ll.llama_get_logits_ith(self._ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

    def check_fits(self, pos: int, n_more: int) -> None:
        """Raise :class:`ContextOverflow` if ``n_more`` tokens from ``pos`` exceed the context."""
        if pos + n_more > self.n_ctx:
            raise ContextOverflow(
                f"the prompt needs {pos + n_more} positions but the context holds {self.n_ctx}: "
                "shorten the question or use a bundle with a larger context"
            )

    # --- internals -----------------------------------------------------------------------

    def _place(self, batch, n: int, pos: int, logits: bool, seq: int = SEQ) -> None:
        batch.pos[n] = pos
        batch.n_seq_id[n] = 1
        batch.seq_id[n][0] = seq
        batch.logits[n] = 1 if logits else 0

    def _decode(self, batch) -> None:
        status = self._ll.llama_decode(self._ctx, batch)
        if status != 0:
            raise LLMError(f"llama_decode failed with status {status} (context full or invalid batch)")

    def _load_adapter(self, path: Path, scale: float) -> None:
        check_gguf_file(path, "LoRA adapter")
        ll = self._ll
        adapter = ll.llama_adapter_lora_init(self._model, str(path).encode())
        if not adapter:
            raise LLMError(f"{path.name}: llama.cpp could not load this LoRA adapter for {self.path.name}")
        adapters = (ll.llama_adapter_lora_p_ctypes * 1)(adapter)
        scales = (ctypes.c_float * 1)(scale)
        if ll.llama_set_adapters_lora(self._ctx, adapters, 1, scales) != 0:
            raise LLMError(f"{path.name}: could not apply the LoRA adapter")
        self._adapter = adapter

    def close(self) -> None:
        """Free the context and the model (also done when the object is collected)."""
        ll = getattr(self, "_ll", None)
        if ll is None:
            return
        if getattr(self, "_ctx", None):
            ll.llama_free(self._ctx)
            self._ctx = None
        if getattr(self, "_model", None):
            ll.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:
        self.close()


def _log_softmax_at(logits: np.ndarray, token: int) -> float:
    """log softmax(logits)[token], in float64."""
    row = logits.astype(np.float64)
    top = row.max()
    return float(row[token] - top - np.log(np.exp(row - top).sum()))


def _uint8_pointer(array: np.ndarray) -> "ctypes._Pointer":
    """A ``uint8_t *`` to a contiguous array's data, for llama.cpp's state calls (no copy)."""
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
