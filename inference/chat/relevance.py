"""Occlusion relevance: which slices an answer rests on, for every bundle kind.

After an answer, for each slab of the scan (:mod:`.token_slabs`: a depth row of a 3D model's
token grid, one image of a slice-set model) the slab's image tokens are replaced by zero
vectors in a second cache sequence that shares the answer's cached prefix (llama.cpp's
sequence copy; positions unchanged), and the log-probability of the answer just given is
measured again, teacher-forced; a slab's relevance is how much it falls (in nats).

Why zeros, not removal: llama.cpp requires a sequence's positions to stay consecutive, so a
slab removed at the end of the prefix (M3D-LaMed's last depth row, a slice set's last image)
would leave a gap it refuses; zero vectors in place are the image-free baseline ``eval``'s
``--zero-image`` column already uses.

Exact where cheap, approximate where not:

- a 3D bundle: everything after the slab (the later image tokens, the text) is decoded again
  against the occluded slab, so the figure equals a full recompute of the prompt with the
  slab zeroed (the prefix is a few hundred tokens);
- a slice-set bundle: the later slices keep their cached states (they saw the slab), and
  only the question and the answer are decoded again; decoding every later slice again per
  slab would cost about half the prompt per slice. Exact for the last slice; the error of
  the others against a full recompute is measured in ``tests/slices/test_occlusion_parity.py``
  and stated in ``docs/chat.md``.

Example:
    >>> answer = chat.ask("Where is the nodule?")                      # doctest: +SKIP
    >>> relevance = occlusion_relevance(chat, answer)                 # doctest: +SKIP
    >>> relevance.record()["original_slices"][:3]                     # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from .session import Answer, ChatSession
from .token_slabs import Slab, depth_slabs, spread_to_stored

OCCLUDED = 1  # the cache sequence the what-if variants are scored in (0 holds the answer's)
METHOD = "occlusion"
MEANING = ("occlusion: how much blanking these slices (their image tokens set to zero) lowers the "
           "log-probability of this answer (nats)")


class NoRelevance(Exception):
    """This bundle's image tokens cover no slices (one sentence saying why)."""


class RelevanceStopped(Exception):
    """The user stopped the computation (between two slabs); nothing is kept."""


@dataclass
class SliceRelevance:
    """One answer's occlusion relevance.

    Attributes:
        slab_values: per slab, log P(answer) with everything minus log P(answer) without the slab.
        original: one value per stored slice (slices no slab covers: 0).
        base_logprob: log P(answer) with nothing removed.
        seconds: what computing it took.
    """

    slab_values: np.ndarray
    original: np.ndarray
    base_logprob: float
    n_answer_tokens: int
    seconds: float

    def record(self, n: int = 6) -> dict:
        """The JSON form (``ask --relevance --json``): one value per stored slice, counted like
        every slice number (the stored slices, from 1)."""
        top = [int(k) + 1 for k in np.argsort(-self.original, kind="stable")[:n]]
        return {"method": METHOD, "meaning": MEANING, "unit": "nats", "slice_grid": "stored",
                "n_slices": len(self.original), "top_slices": top,
                "original_slices": [round(float(v), 6) for v in self.original],
                "slabs": [round(float(v), 6) for v in self.slab_values],
                "answer_logprob": round(self.base_logprob, 6), "answer_tokens": self.n_answer_tokens,
                "seconds": round(self.seconds, 3)}


def occlusion_relevance(session: ChatSession, answer: Answer, cancel: threading.Event | None = None) -> SliceRelevance:
    """The occlusion relevance of ``answer`` (the session's last, about its loaded scan).
    Setting ``cancel`` stops it between two slabs.

    Raises:
        NoRelevance: the bundle's tokens cover no slices, or the answer has no tokens.
        RelevanceStopped: ``cancel`` was set.
    """
    from .slice_session import SliceSetSession

    if not answer.token_ids:
        raise NoRelevance("the answer has no tokens to score")
    t0 = time.perf_counter()
    interleaved = isinstance(session, SliceSetSession)
    bidirectional = interleaved and session.projector.bidirectional
    with session.exclusive():
        spans, covered, to_stored = _slabs(session)
        _, question, _ = session.question_chunks(answer.question)
        llm, end = session.llm, session.prefix_end
        prefix = session.prefix_chunks()
        session.restore_prefix()

        def score(slab: tuple[int, int] | None) -> float:
            try:
                if slab is None:
                    llm.copy_positions(0, OCCLUDED, 0, end)
                elif interleaved:  # zeros in place; the later slices' cached states kept
                    llm.copy_positions(0, OCCLUDED, 0, slab[0])
                    llm.decode([_zeros(slab, llm.n_embd)], slab[0], False, bidirectional, OCCLUDED)
                    llm.copy_positions(0, OCCLUDED, slab[1], end)
                else:  # zeros in place, everything after decoded again: exact
                    llm.copy_positions(0, OCCLUDED, 0, slab[0])
                    llm.decode(_zeroed_tail(prefix, slab, llm.n_embd), slab[0], False, False, OCCLUDED)
                return llm.continuation_logprob(question, answer.token_ids, end, seq=OCCLUDED)
            finally:
                llm.remove_positions(OCCLUDED, -1, -1)

        base, drops = score(None), []
        try:
            for span in spans:
                if cancel is not None and cancel.is_set():
                    raise RelevanceStopped("the occlusion relevance was stopped")
                drops.append(base - score(span))
        finally:
            session.restore_prefix()
        values = np.array(drops)
    return SliceRelevance(values, to_stored(values, covered), base, len(answer.token_ids),
                          time.perf_counter() - t0)


def _zeros(slab: tuple[int, int], width: int) -> np.ndarray:
    return np.zeros((slab[1] - slab[0], width), np.float32)


def _zeroed_tail(chunks: list, slab: tuple[int, int], width: int) -> list:
    """The prefix's chunks from the slab's start on, with the slab's rows zeroed."""
    tail, pos = [], 0
    for chunk in chunks:
        lo, pos = pos, pos + len(chunk)
        if pos <= slab[0]:
            continue
        keep = max(slab[0] - lo, 0)  # the part of this chunk at or after the slab's start
        if isinstance(chunk, np.ndarray):
            part = np.array(chunk[keep:], dtype=np.float32)
            part[: max(min(slab[1], pos) - (lo + keep), 0)] = 0.0  # the slab's rows in it
            tail.append(part)
        else:
            tail.append(list(chunk[keep:]))
    return [c for c in tail if len(c)]


def _slabs(session: ChatSession):
    """``(cache position spans, what each covers, values -> one per stored slice)``."""
    from .slice_session import SliceSetSession

    if isinstance(session, SliceSetSession):
        rendered = session.model_input
        covered = [(k,) for k in rendered.stored]

        def to_stored(values: np.ndarray, covered: list) -> np.ndarray:
            # between two sent slices, a stored slice takes the value of the nearer one
            stored = np.array([c[0] for c in covered])
            nearest = np.abs(np.arange(rendered.n_stored)[:, None] - stored[None, :]).argmin(axis=1)
            return values[nearest]

        return session.image_spans(), covered, to_stored
    bundle = session.bundle
    slabs: list[Slab] = depth_slabs(bundle.manifest, bundle.layout.n_tokens_3d, bundle.layout.n_model_slices)
    if not slabs:
        raise NoRelevance(f"{bundle.name}'s image tokens do not belong to particular slices (Med3DVLM's projector "
                          "mixes them across the scan), or its manifest does not say how they are laid out "
                          "(convert it again with this ctchat): occlusion relevance is not defined for it")
    start = _image_start(session)

    def to_original(values: np.ndarray, covered: list) -> np.ndarray:
        per_model = spread_to_stored(values, covered, bundle.layout.n_model_slices)
        return session.model_input.slice_map.to_original(per_model)

    return [(start + s.start, start + s.end) for s in slabs], [s.model_slices for s in slabs], to_original


def _image_start(session: ChatSession) -> int:
    """The cache position of the first 3D image token (after the text before it)."""
    pos = 0
    for chunk in session.prefix_chunks():
        if isinstance(chunk, np.ndarray):
            return pos
        pos += len(chunk)
    raise NoRelevance("this bundle's prompt has no 3D image tokens before the question")
