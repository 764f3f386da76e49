"""`SliceSetSession`: a slice-set model (MedGemma 1.5, Gemma 3 through llama.cpp's multimodal
library) asked about a CT given as rendered slices.

Loading a scan renders its slices by the bundle's recipe (:mod:`inference.slices.render`),
encodes each with the vision projector (mtmd) and decodes the prompt up to the last slice into
the KV cache: the instruction, every slice's image tokens and label. The slice embeddings and
that KV state go into the scan cache, so a follow-up question or a reopened scan encodes
nothing again. Each question then decodes only its own text after the cached prefix.

Everything else (streaming, the choice grammar, P(yes), the notes) is :class:`ChatSession`'s.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from ..io.volume import Volume
from ..llm.errors import ContextOverflow, LLMError
from ..llm.prompt import ct_rate_diseases
from ..llm.projector import VisionProjector
from ..llm.runtime import LlamaRuntime
from ..question import Question
from ..slices.bundle import SliceSetBundle
from ..slices.prompt import SliceSequence, build_sequence
from ..slices.recipe import RenderedSlices, SliceRecipe
from ..slices.render import render_scan
from .scan_cache import CachedScan, ScanCache
from .scope import check_region
from .session import ChatSession
from .slice_cost import SliceCost

ANSWER_ROOM = 1024  # context positions kept for a question and its answer after the slices
PROBE = "?"  # a question to lay out the prefix with (the prefix does not depend on it)
EMBEDDINGS = "slice_embeddings"  # the scan cache's name for the (n, tokens, width) slice embeddings


def context_size(recipe: SliceRecipe, n_slices: int) -> int:
    """The context a session makes for ``n_slices`` slices: each slice's image tokens, the text
    around them and its label (a dozen tokens at most), the instruction, a question and answer."""
    return n_slices * (recipe.tokens_per_image + 16) + 256 + ANSWER_ROOM


class EncodeCancelled(Exception):
    """The user stopped a scan's encoding (nothing was kept)."""


class SliceSetSession(ChatSession):
    """A slice-set bundle ready to answer questions about one scan at a time.

    Args:
        bundle: a verified slice-set bundle.
        slices: the slice budget (``--slices``); None: the recipe's (85 for MedGemma 1.5).
        n_ctx: the context window; None: room for the budget's slices and an answer.
        Others as :class:`ChatSession`.
    """

    def __init__(self, bundle: SliceSetBundle, device: str = "auto", n_threads: int | None = None,
                 n_ctx: int | None = None, exact_attention: bool = False, scan_cache: ScanCache | None = None,
                 slices: int | None = None) -> None:
        self.bundle = bundle
        recipe = bundle.slice_recipe
        self.budget = recipe.budget(slices)
        self.llm = LlamaRuntime(bundle.llm_path, n_ctx=n_ctx or context_size(recipe, self.budget), n_threads=n_threads,
                                n_batch=max(512, recipe.tokens_per_image), exact_attention=exact_attention,
                                n_seq=2,  # the second: occlusion relevance
                                full_swa_cache=False)  # restore_prefix loads the saved state: windows suffice
        self.projector = VisionProjector(bundle.projector_path, self.llm, n_threads=n_threads,
                                         use_gpu=device != "cpu")
        self.template = self.llm.chat_template()
        if not self.template:
            raise LLMError(f"{self.llm.path.name} carries no chat template: ctchat cannot lay out its prompt")
        self.bos = self.llm.token_text(self.llm.bos_token()) if self.llm.bos_token() >= 0 else ""
        self.attention = None
        self.scale = np.float32(1.0)  # mtmd's embeddings are already at the LLM's input scale
        self.model_input: RenderedSlices | None = None
        self.history = []
        self._scan: dict[str, np.ndarray] | None = None
        self._prefix_end = 0
        self._prefix_texts: tuple[str, ...] = ()
        self._prefix_state: np.ndarray | None = None
        self._yes_no_ids = None
        self._lock = threading.Lock()
        self.encode_timings: dict[str, float] = {}
        self.scan_cache = scan_cache
        self.from_cache = False
        self.region = None
        self._known_diseases = tuple(ct_rate_diseases())
        self.cost = SliceCost(bundle.identity())
        self._model_id = (f"{bundle.identity()}|kv={'f32' if exact_attention else 'default'}"
                          f"|flash={int(self.llm.flash_attention)}|budget={self.budget}|n_ctx={self.llm.n_ctx}")

    # --- what the model was given ---------------------------------------------------------

    @property
    def providers(self) -> list[str]:
        return ["llama.cpp mtmd"]

    @property
    def sent_slices(self) -> list[int]:
        """The stored slices (from 0) the model was given for the loaded scan."""
        return list(self.model_input.stored) if self.model_input is not None else []

    def sequence(self, question: Question | str) -> SliceSequence:
        """The text around the slice images for ``question`` (what ``--save-model-input`` writes)."""
        if isinstance(question, str):
            question = Question("open", question)
        return self._sequence(self.bundle.prompt.task_prompt(question))

    def _sequence(self, prompt: str, rendered: RenderedSlices | None = None) -> SliceSequence:
        rendered = rendered or self.model_input
        if rendered is None:
            raise RuntimeError("load a scan first")
        return build_sequence(self.template, self.bundle.slice_prompt, self.bundle.slice_recipe,
                              rendered, prompt, self.bos)

    def _check_context(self, rendered: RenderedSlices) -> None:
        """Refuse, before anything long starts, slices whose prompt would not fit the context
        (with room for a question and an answer)."""
        texts = self._sequence(PROBE, rendered).prefix
        needed = sum(len(self.llm.tokenize(t)) for t in texts) + len(rendered.images) * self.bundle.slice_recipe.tokens_per_image
        if needed + ANSWER_ROOM // 4 > self.llm.n_ctx:
            raise ContextOverflow(f"{len(rendered.images)} slices need {needed} positions but the model's context "
                                  f"holds {self.llm.n_ctx}: send fewer slices (--slices)")

    def image_spans(self) -> list[tuple[int, int]]:
        """The positions ``[start, end)`` each sent slice's image tokens hold in the cache."""
        spans, pos = [], 0
        for chunk in self.prefix_chunks():
            if isinstance(chunk, np.ndarray):
                spans.append((pos, pos + len(chunk)))
            pos += len(chunk)
        return spans

    def estimate_seconds(self, volume: Volume) -> float | None:
        """Seconds the slices of ``volume`` will take to encode on this machine (the measured
        per-slice cost times the slices sent; None before any slice was measured here)."""
        n = len(self.bundle.slice_recipe.sample(volume.as_stored().shape[0], self.budget))
        return self.cost.estimate(n)

    # --- loading --------------------------------------------------------------------------

    def load_scan(self, volume: Volume, on_progress: Callable[[int, int], None] | None = None,
                  cancel: threading.Event | None = None, on_encode: Callable[[], None] | None = None
                  ) -> dict[str, float]:
        """Render, encode and decode a scan's slices (see the module docstring).

        ``on_encode()`` is called once when the slices are about to be encoded (not when the scan
        cache answers: the caller's estimate of the wait is then due); ``on_progress(done, total)``
        after each slice is encoded; setting ``cancel`` stops between slices
        (:class:`EncodeCancelled`; the session keeps its previous scan).

        Raises:
            SliceRecipeError: the scan cannot be given to this model (one sentence).
            EncodeCancelled: ``cancel`` was set.
        """
        with self._lock:
            region = check_region(volume, self.bundle.scope)
            t0 = time.perf_counter()
            rendered = render_scan(volume, self.bundle.slice_recipe, self.budget)
            self._check_context(rendered)
            t1 = time.perf_counter()
            key = ScanCache.key(rendered.stack(), self._model_id) if self.scan_cache else ""
            cached = self.scan_cache.get(key) if self.scan_cache else None
            t2 = time.perf_counter()
            if cached is not None and self.llm.load_cache(cached.kv):
                self.from_cache = True
                embeddings = cached.scan[EMBEDDINGS]
                self._prefix_state = np.asarray(cached.kv)
                prefix_end = cached.prefix_end
                stages = {"vision": t2 - t1, "llm_prefix": time.perf_counter() - t2}
            else:
                self.from_cache = False
                if on_encode is not None:
                    on_encode()
                embeddings = self._encode(rendered, on_progress, cancel)
                t3 = time.perf_counter()
                prefix_end = self._decode_slices(rendered, embeddings)
                self._prefix_state = self.llm.save_cache()
                stages = {"vision": t3 - t2, "llm_prefix": time.perf_counter() - t3}
                if self.scan_cache:
                    self.scan_cache.put(key, CachedScan({EMBEDDINGS: embeddings}, self._prefix_state, prefix_end))
            self.model_input, self.region, self.history = rendered, region, []
            self._scan = {EMBEDDINGS: embeddings}
            self._prefix_end = prefix_end
            self._prefix_texts = self._sequence(PROBE, rendered).prefix
            self.encode_timings = {"preprocess": t1 - t0, **stages}
            return dict(self.encode_timings)

    def _encode(self, rendered: RenderedSlices, on_progress, cancel) -> np.ndarray:
        rows = []
        for n, image in enumerate(rendered.images):
            if cancel is not None and cancel.is_set():
                raise EncodeCancelled("the scan's encoding was stopped")
            start = time.perf_counter()
            rows.append(self.projector.encode(image))
            self.cost.record(time.perf_counter() - start)
            if on_progress is not None:
                on_progress(n + 1, len(rendered.images))
        self.cost.save()
        return np.stack(rows) if rows else np.zeros((0, 0, self.llm.n_embd), np.float32)

    def _decode_slices(self, rendered: RenderedSlices, embeddings: np.ndarray) -> int:
        """Decode the instruction and every slice (its image tokens and the text around them)
        from position 0 into an empty cache; returns the position after the last image."""
        self.llm.clear()
        return self.llm.decode(self._chunks(rendered, embeddings), 0, want_logits=False,
                               bidirectional_images=self.projector.bidirectional)

    def _chunks(self, rendered: RenderedSlices, embeddings: np.ndarray) -> list:
        chunks: list = []
        for text, image in zip(self._sequence(PROBE, rendered).prefix, embeddings):
            chunks += [self.llm.tokenize(text), image]
        return [c for c in chunks if len(c)]

    def prefix_chunks(self) -> list:
        """The slices' part of the prompt as the chunks decoded into the cache."""
        if self._scan is None or self.model_input is None:
            raise RuntimeError("load a scan first")
        return self._chunks(self.model_input, self._scan[EMBEDDINGS])

    def recompute_prefix(self) -> float:
        """Decode the loaded scan's slices again, as if nothing were cached (the cold baseline
        of ``ctchat bench``); returns the seconds it took."""
        if self._scan is None or self.model_input is None:
            raise RuntimeError("load a scan first")
        with self._lock:
            t0 = time.perf_counter()
            self._prefix_end = self._decode_slices(self.model_input, self._scan[EMBEDDINGS])
            self._prefix_state = self.llm.save_cache()
            return time.perf_counter() - t0

    # --- asking ---------------------------------------------------------------------------

    def question_chunks(self, question: Question):
        """The question's text after the cached slices (no TG-IS: no scores)."""
        sequence = self.sequence(question)
        if sequence.prefix != self._prefix_texts:  # a chat template that puts the question before a slice
            raise LLMError("this model's chat template puts the question before the slices; "
                           "ctchat cannot reuse the cached slices for it")
        return None, [self.llm.tokenize(sequence.texts[-1])], time.perf_counter()

    def restore_prefix(self) -> None:
        """Back to the cache as it was after the slices. A model with sliding-window layers
        (Gemma 3) keeps only the window's last positions in those layers, so positions an
        answer pushed out cannot be truncated back: its saved state is restored instead."""
        if self.llm.n_swa > 0 and self._prefix_state is not None:
            if not self.llm.load_cache(self._prefix_state):
                raise LLMError("llama.cpp refused the saved state of the slices")
        else:
            self.llm.truncate(self._prefix_end)

    def close(self) -> None:
        self.projector.close()
        self.llm.close()
