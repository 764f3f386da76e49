"""`ChatSession`: ask questions about one scan; stream answers; get TG-IS slice scores.

The scan is encoded once: preprocessing, the vision scan graph, and the LLM's decoding of the
scan prefix (the text before the image and the 3D image tokens), which stays in the KV cache.
Each question then costs the small question graph (TG-IS scores and the aggregated 2D
tokens), the decoding of its own tokens on top of the cached prefix, and the answer.

Each question is answered from the scan alone (single turn, as the papers' models are
trained); the conversation history is kept for the reader, not fed back to the model.

The sequence fed to the LLM is the bundle's prompt format's
(:meth:`~inference.llm.prompt.PromptFormat.scan_segments` and ``question_segments``), the same
description training uses.

Example:
    >>> from inference.bundle import load_bundle
    >>> from inference.io import load_volume
    >>> chat = ChatSession(load_bundle("default"))                       # doctest: +SKIP
    >>> chat.load_scan(load_volume("chest/"))                            # doctest: +SKIP
    >>> answer = chat.ask("Is there a nodule?", on_text=print)           # doctest: +SKIP
    >>> answer = chat.ask(Question.yes_no("emphysema"))                  # doctest: +SKIP
    >>> answer.top_slices                                                # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..bundle import Bundle
from ..io.volume import Volume
from ..llm.errors import LLMError
from ..llm.grammar import one_of
from ..llm.prompt import ct_rate_diseases
from ..llm.runtime import LlamaRuntime, SamplingParams
from ..preprocess import ModelInput, preprocess
from ..question import Choice, Question
from ..vision.runtime import QuestionResult, VisionRuntime
from .scan_cache import CachedScan, ScanCache
from .scope import RegionCheck, answer_notes, check_region


@dataclass
class Answer:
    """One answered question, with where the model looked and what it cost."""

    question: Question
    text: str
    slice_scores: np.ndarray | None  # TG-IS scores over the model's slices (sum to 1); None: no TG-IS
    original_scores: np.ndarray | None  # the same, drawn onto the scan's original slices
    top_slices: list[int]  # original slice indices, highest score first (empty without TG-IS)
    timings: dict[str, float] = field(default_factory=dict)
    n_tokens: int = 0
    cancelled: bool = False
    yes_probability: float = float("nan")  # P(yes) against P(no) for the first word (yes/no questions)
    notes: list[str] = field(default_factory=list)  # shown beside the answer: outside the trained scope, uncertain
    choice: Choice | None = None  # the option a multiple-choice answer names (None: another task, or stopped early)
    token_ids: list[int] = field(default_factory=list)  # the tokens generated (what relevance scores)

    @property
    def task(self) -> str:
        """The question's task (``open``, ``choice``, ``yes_no``, ``report``)."""
        return self.question.task

    def top_range(self, n: int = 6) -> str:
        """The highest-scored slices as text, counted from 1 on the stored slices and saying so,
        e.g. ``"stored slices 31-36 of 64"``, or what a model without slice attention has instead.

        The stored slices are what the scores refer to; a scan resampled for display numbers
        its displayed slices differently (the viewer converts, :meth:`Volume.original_to_grid`).
        """
        if not self.top_slices:
            return "no slice attention (this model has no TG-IS)"
        picked = sorted(self.top_slices[:n])
        runs, start = [], picked[0]
        for a, b in zip(picked, picked[1:] + [None]):
            if b != a + 1:
                runs.append(f"{start + 1}" if start == a else f"{start + 1}-{a + 1}")
                start = b
        of = f" of {len(self.original_scores)}" if self.original_scores is not None else ""
        return ("stored slice " if len(picked) == 1 else "stored slices ") + ", ".join(runs) + of

    def scores_record(self, n: int = 6) -> dict | None:
        """The slice scores for JSON (``ask --json``, batch lines; None without TG-IS): one per
        stored slice in order, and the ``n`` highest-scored counted from 1 on the grid named by
        ``slice_grid`` (the stored slices, as :meth:`top_range` says them)."""
        if self.original_scores is None:
            return None
        return {"slice_grid": "stored", "n_slices": len(self.original_scores),
                "top_slices": [k + 1 for k in self.top_slices[:n]],
                "original_slices": [round(float(s), 6) for s in self.original_scores]}


class ChatSession:
    """A model bundle ready to answer questions about one scan at a time.

    Args:
        bundle: a verified model bundle.
        device: ``"auto"`` (CUDA when ONNX Runtime offers it), ``"cuda"`` or ``"cpu"``.
        n_threads: CPU threads for ONNX Runtime and llama.cpp (default: all cores).
        n_ctx: the LLM's context window.
        zero_image: feed zero vectors in place of the image tokens (the evaluation baseline that
            shows what the image contributes); the slice scores are still computed.
        exact_attention: float32 KV cache, no flash attention (parity checks; slower).
        scan_cache: where a scan's vision outputs and prefix KV cache are kept between
            sessions (:class:`~inference.chat.scan_cache.ScanCache`); None: nothing is kept.
    """

    def __init__(
        self,
        bundle: Bundle,
        device: str = "auto",
        n_threads: int | None = None,
        n_ctx: int = 2048,
        zero_image: bool = False,
        exact_attention: bool = False,
        scan_cache: ScanCache | None = None,
    ) -> None:
        from .slice_attention import SliceAttention

        self.bundle = bundle
        self.vision = VisionRuntime(bundle.scan_graph, bundle.question_graph, device=device, threads=n_threads,
                                    int8_scan_path=bundle.scan_variant("int8"),
                                    fp16_scan_path=bundle.scan_variant("fp16"))
        self.llm = LlamaRuntime(bundle.llm_path, n_ctx=n_ctx, n_threads=n_threads, lora_path=bundle.lora_path,
                               exact_attention=exact_attention, n_seq=2)  # the second: occlusion relevance
        if self.llm.n_embd != bundle.layout.hidden:
            raise LLMError(
                f"{bundle.name} makes image tokens of width {bundle.layout.hidden} but its LLM "
                f"{self.llm.path.name} has hidden size {self.llm.n_embd}"
            )
        self.attention = SliceAttention(bundle, self.vision, self.llm.tokenize)
        self.scale = np.float32(0.0 if zero_image else bundle.prompt.scale_for(self.llm.n_embd))
        self.model_input: ModelInput | None = None
        self.history: list[Answer] = []
        self._scan: dict[str, np.ndarray] | None = None
        self._prefix_end = 0
        self._yes_no_ids: tuple[list[int], list[int]] | None = None
        self._lock = threading.Lock()
        self.encode_timings: dict[str, float] = {}
        self.scan_cache = scan_cache
        self.from_cache = False  # whether the loaded scan came from the scan cache
        self.region: RegionCheck | None = None  # the loaded scan against the bundle's trained region
        self._known_diseases = tuple(ct_rate_diseases())
        # the scan graph that runs (fp32, its int8 version on the CPU or fp16 on CUDA) is part of what a cached scan depends on
        # the KV state's layout depends on the cache type and on flash attention (V transposed without it)
        self._model_id = (f"{bundle.identity()}|kv={'f32' if exact_attention else 'default'}"
                          f"|flash={int(self.llm.flash_attention)}|scale={float(self.scale)}"
                          f"|scan={self.vision.scan_graph.name}")

    def exclusive(self) -> threading.Lock:
        """The session's lock, to hold while using its LLM context alone (no question and no
        encoding runs meanwhile), as the occlusion relevance does between two answers."""
        return self._lock

    @property
    def scan_outputs(self) -> dict[str, np.ndarray] | None:
        """The loaded scan's vision-graph outputs (None before a scan is loaded)."""
        return self._scan

    @property
    def providers(self) -> list[str]:
        """Execution providers the vision graphs really run on."""
        return self.vision.providers

    def load_scan(self, volume: Volume) -> dict[str, float]:
        """Preprocess and encode a scan, and decode its prefix into the LLM's cache.

        Returns the timings in seconds (``preprocess``, ``vision``, ``llm_prefix``); with a
        scan cache that holds the scan, ``vision`` is the time to hash the input and read the
        entry back, ``llm_prefix`` to restore its KV state (:attr:`from_cache` says which
        happened). :attr:`region` says whether the scan lies in the bundle's trained body
        region.
        """
        with self._lock:
            self.region = check_region(volume, self.bundle.scope)
            t0 = time.perf_counter()
            model_input = preprocess(volume, self.bundle.recipe)
            t1 = time.perf_counter()
            key = ScanCache.key(model_input.array, self._model_id) if self.scan_cache else ""
            cached = self.scan_cache.get(key) if self.scan_cache else None
            t2 = time.perf_counter()
            self.from_cache = cached is not None and self.llm.load_cache(cached.kv)
            if self.from_cache:
                self.model_input, self._scan, self._prefix_end = model_input, cached.scan, cached.prefix_end
                stages = {"vision": t2 - t1, "llm_prefix": time.perf_counter() - t2}
            else:
                start = time.perf_counter()  # a miss: the time spent looking is counted in no stage
                scan = self.vision.encode_scan(model_input.array)
                encoded = time.perf_counter()
                self.model_input, self._scan = model_input, scan
                self._prefix_end = self._decode_prefix()
                stages = {"vision": encoded - start, "llm_prefix": time.perf_counter() - encoded}
                if self.scan_cache:
                    self.scan_cache.put(key, CachedScan(scan, self.llm.save_cache(), self._prefix_end))
            self.history = []
            self.encode_timings = {"preprocess": t1 - t0, **stages}
            return dict(self.encode_timings)

    def ask(
        self,
        question: Question | str,
        max_tokens: int = 128,
        cancel: threading.Event | None = None,
        on_text: Callable[[str], None] | None = None,
        sampling: SamplingParams = SamplingParams(),
    ) -> Answer:
        """Answer one question about the loaded scan, streaming text through ``on_text``.

        ``question``: a :class:`~inference.question.Question`, or the text of an open question.
        A multiple-choice answer is generated under a grammar that allows only the bundle's
        answers naming one option (:meth:`~inference.llm.prompt.PromptFormat.choice_answers`),
        with ``max_tokens`` raised to what the longest of them may take; :attr:`Answer.choice`
        says which option it named.

        Raises:
            ContextOverflow: the question would not fit (nothing was decoded).
            ValueError: the bundle has no prompt for the question's task.
            RuntimeError: no scan is loaded.
        """
        if isinstance(question, str):
            question = Question("open", question)
        if self._scan is None or self.model_input is None:
            raise RuntimeError("load a scan before asking")
        grammar = None
        if question.task == "choice":
            answers = self.bundle.prompt.choice_answers(question)
            grammar = one_of(answers)
            # every token the grammar allows holds at least one byte (one more for the end)
            max_tokens = max(max_tokens, max(len(f" {a}".encode()) for a in answers) + 1)
        with self._lock:
            t0 = time.perf_counter()
            result, pos, t1 = self._decode_question(question, max_tokens)
            yes_probability = self._yes_probability()

            pieces: list[str] = []
            first: list[float] = []
            n_tokens = [0]
            token_ids: list[int] = []

            def count(token: int) -> None:
                n_tokens[0] += 1
                token_ids.append(token)
                if not first:
                    first.append(time.perf_counter())

            for piece in self.llm.generate(pos, max_tokens, sampling, cancel, self.bundle.prompt.stop, count,
                                          self.bundle.prompt.stop_ids, grammar):
                pieces.append(piece)
                if on_text is not None:
                    on_text(piece)
            t_end = time.perf_counter()

            scores = original = None
            if result is not None:
                scores = np.asarray(result.slice_scores, dtype=np.float64)
                original = self.model_input.slice_map.to_original(scores)
            gen_time = t_end - first[0] if first else 0.0
            text = "".join(pieces).strip()
            answer = Answer(
                question=question,
                text=text,
                slice_scores=scores,
                original_scores=original,
                top_slices=[] if original is None else [int(k) for k in np.argsort(-original, kind="stable")],
                timings={
                    "question_graph": t1 - t0,
                    "time_to_first_token": (first[0] - t0) if first else t_end - t0,
                    "tokens_per_second": (n_tokens[0] - 1) / gen_time if n_tokens[0] > 1 and gen_time > 0 else 0.0,
                    "total": t_end - t0,
                },
                n_tokens=n_tokens[0],
                cancelled=bool(cancel is not None and cancel.is_set()),
                yes_probability=yes_probability,
                notes=([self.region.message] if self.region is not None and self.region.warns else [])
                + answer_notes(question, text, yes_probability, self.bundle.scope, self._known_diseases),
                choice=self.bundle.prompt.chosen(question, text) if grammar else None,
                token_ids=token_ids,
            )
            self.history.append(answer)
            return answer

    def _decode_prefix(self) -> int:
        """Decode the scan's part of the prompt (its 3D image tokens) from position 0 into an
        empty cache; returns the position after it."""
        self.llm.clear()
        return self.llm.decode(self.prefix_chunks(), 0, want_logits=False)

    def prefix_chunks(self) -> list:
        """The scan's part of the prompt as the chunks decoded into the cache."""
        images = {"image_3d": self._scan["image_tokens_3d"][0] * self.scale}
        return self.llm.prompt_chunks(self.bundle.prompt.scan_segments(), images)

    def recompute_prefix(self) -> float:
        """Decode the loaded scan's prefix again, as if nothing were cached (the baseline that
        ``ctchat bench bundle`` sets against the reused cache); returns the seconds it took."""
        if self._scan is None:
            raise RuntimeError("load a scan first")
        with self._lock:
            t0 = time.perf_counter()
            self._prefix_end = self._decode_prefix()
            return time.perf_counter() - t0

    def _decode_question(self, question: Question, max_tokens: int) -> tuple[QuestionResult | None, int, float]:
        """Score the question's slices (TG-IS, if the model has it) and decode its part of the
        prompt after the cached scan prefix; returns the TG-IS result, the next position and
        the time the question graph finished."""
        result, chunks, t1 = self.question_chunks(question)
        self.llm.check_fits(self._prefix_end, sum(len(x) for x in chunks) + max_tokens)
        self.restore_prefix()
        return result, self.llm.decode(chunks, self._prefix_end), t1

    def question_chunks(self, question: Question) -> tuple[QuestionResult | None, list, float]:
        """The question's part of the prompt as chunks (its TG-IS tokens, if any, and its text),
        with the TG-IS result and the time it was ready."""
        prompt_text = self.bundle.prompt.task_prompt(question)
        result = self.attention.score(self._scan, question, prompt_text)  # None: no TG-IS
        t1 = time.perf_counter()
        images = {} if result is None else {"image_2d": result.image_tokens[self.bundle.layout.n_tokens_3d:] * self.scale}
        return result, self.llm.prompt_chunks(self.bundle.prompt.question_segments(prompt_text), images), t1

    def restore_prefix(self) -> None:
        """Back to the cache as it was after the scan's prefix (before any question)."""
        self.llm.truncate(self._prefix_end)

    @property
    def prefix_end(self) -> int:
        """The position after the loaded scan's prefix."""
        return self._prefix_end

    def first_token_logits(self, question: Question | str) -> np.ndarray:
        """The LLM's logits for the first answer token (float32, one per vocabulary entry):
        what a converted model is checked against its reference implementation with."""
        if isinstance(question, str):
            question = Question("open", question)
        if self._scan is None:
            raise RuntimeError("load a scan before asking")
        with self._lock:
            self._decode_question(question, 1)
            return self.llm.last_logits().copy()

    def _yes_probability(self) -> float:
        """P(yes) / (P(yes) + P(no)) of the first answer word, from the logits before sampling.

        Each side sums the one-token spellings "yes", " yes", "Yes", " Yes" (and the same of
        "no"); a threshold-free reading of a yes/no answer, for ROC curves.
        """
        if self._yes_no_ids is None:
            def single(words: tuple[str, ...]) -> list[int]:
                ids = [self.llm.tokenize(w, parse_special=False) for w in words]
                return sorted({i[0] for i in ids if len(i) == 1})

            self._yes_no_ids = (single(("yes", " yes", "Yes", " Yes")), single(("no", " no", "No", " No")))
        yes_ids, no_ids = self._yes_no_ids
        if not yes_ids or not no_ids:
            return float("nan")
        logits = self.llm.last_logits().astype(np.float64)
        margin = np.logaddexp.reduce(logits[yes_ids]) - np.logaddexp.reduce(logits[no_ids])
        return float(0.5 * (1.0 + np.tanh(margin / 2)))  # the logistic function, without overflow

    def close(self) -> None:
        """Free the LLM (the ONNX sessions go with the object)."""
        self.llm.close()
