"""Generation for :class:`~inference.llm.runtime.LlamaRuntime`: sampling from the current
logits and streaming text, with llama.cpp's sampler chain (greedy, top-k/top-p, a grammar)."""

from __future__ import annotations

import codecs
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from .errors import LLMError


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is chosen: greedy when ``temperature`` is 0 (the default)."""

    temperature: float = 0.0
    top_k: int = 40
    top_p: float = 0.95
    seed: int = 0


class Generation:
    """The sampling half of a runtime (its ``_ll``, ``_ctx``, ``_vocab``, ``piece``, ``_place``,
    ``_decode`` and ``check_fits`` are the runtime's)."""

    # --- generation ----------------------------------------------------------------------

    def generate(
        self,
        pos: int,
        max_tokens: int = 256,
        sampling: SamplingParams = SamplingParams(),
        cancel: threading.Event | None = None,
        stop: Sequence[str] = (),
        on_token: Callable[[int], None] | None = None,
        stop_ids: Sequence[int] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        """Sample from the current logits, streaming text pieces as they complete.

        Stops at an end-of-generation token (the GGUF's, and any of ``stop_ids``), after
        ``max_tokens``, when ``cancel`` is set, or when the text ends with one of ``stop``
        (which is not yielded). The logits of the last
        decoded token must be available (decode with ``want_logits=True``).
        ``grammar`` (GBNF, rule ``root``; :mod:`~inference.llm.grammar`) allows only the text
        it matches: llama.cpp's grammar sampler masks every other token before sampling, and
        allows only an end-of-generation token once the grammar is complete.

        Raises:
            LLMError: llama.cpp cannot parse ``grammar``.
        """
        ll = self._ll
        sampler = self._make_sampler(sampling, grammar)
        utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        text, emitted = "", 0
        hold = max((len(s) for s in stop), default=0)  # keep back what may start a stop string
        batch = ll.llama_batch_init(1, 0, 1)
        try:
            for _ in range(max_tokens):
                if cancel is not None and cancel.is_set():
                    break
                token = ll.llama_sampler_sample(sampler, self._ctx, -1)
                if self.is_end_of_generation(token) or token in stop_ids:
                    break
                if on_token is not None:
                    on_token(token)
                text += utf8.decode(self.piece(token))
                cut = _find_stop(text, stop)
                if cut is not None:
                    if cut > emitted:
                        yield text[emitted:cut]
                    return
                ready = len(text) - hold
                if ready > emitted:
                    yield text[emitted:ready]
                    emitted = ready
                self.check_fits(pos, 1)
                batch.token[0] = token
                self._place(batch, 0, pos, True)
                batch.n_tokens = 1
                self._decode(batch)
                pos += 1
            text += utf8.decode(b"", final=True)
            if len(text) > emitted:
                yield text[emitted:]
        finally:
            ll.llama_batch_free(batch)
            ll.llama_sampler_free(sampler)

    def _make_sampler(self, sampling: SamplingParams, grammar: str | None = None):
        ll = self._ll
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if grammar is not None:  # first in the chain: greedy or top-k then choose among the allowed tokens
            constraint = ll.llama_sampler_init_grammar(self._vocab, grammar.encode(), b"root")
            if not constraint:
                ll.llama_sampler_free(chain)
                raise LLMError("llama.cpp could not parse the answer grammar")
            ll.llama_sampler_chain_add(chain, constraint)
        if sampling.temperature <= 0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
        else:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_k(sampling.top_k))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_p(sampling.top_p, 1))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(sampling.temperature))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(sampling.seed))
        return chain


def _find_stop(text: str, stop: Sequence[str]) -> int | None:
    cuts = [text.find(s) for s in stop if s and s in text]
    return min(cuts) if cuts else None
