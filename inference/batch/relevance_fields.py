"""Occlusion relevance beside an answer, the same in ``ask --relevance``, ``batch --relevance``
and ``eval --question-dependence``: the JSON fields, and the one stderr line ``ask`` prints.

A bundle whose image tokens cover no slices (Med3DVLM) or an answer with no tokens has no
relevance: the record is null and ``slice_relevance_reason`` says why in one sentence, so a
batch over such a bundle still writes every answer.

Example:
    >>> fields = relevance_fields(chat, answer)           # doctest: +SKIP
    >>> print(relevance_line(fields))                     # doctest: +SKIP
    [occlusion: the answer rests most on stored slices 49-54 of 64 (...); 9.7 s]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..chat.session import Answer, ChatSession

RELEVANCE_KEY = "slice_relevance"
REASON_KEY = "slice_relevance_reason"


def relevance_fields(session: ChatSession, answer: Answer) -> dict[str, Any]:
    """``{"slice_relevance": record}`` for the session's last answer, or the record null and
    ``slice_relevance_reason`` (one sentence) when it has none.

    An LLM error while scoring is a reason too: the answer already stands, and one answer's
    missing relevance must not stop a batch."""
    from ..chat.relevance import NoRelevance, occlusion_relevance
    from ..llm.errors import LLMError

    try:
        return {RELEVANCE_KEY: occlusion_relevance(session, answer).record()}
    except (NoRelevance, LLMError) as exc:
        return {RELEVANCE_KEY: None, REASON_KEY: str(exc)}


def stored_ranges(slices_from_1: list[int], n_slices: int) -> str:
    """``"stored slices 31-36 of 64"``: the slices (counted from 1) as runs, written as
    :meth:`Answer.top_range <inference.chat.session.Answer.top_range>` writes TG-IS's."""
    picked = sorted(slices_from_1)
    runs, start = [], picked[0]
    for a, b in zip(picked, picked[1:] + [None]):
        if b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return ("stored slice " if len(picked) == 1 else "stored slices ") + ", ".join(runs) + f" of {n_slices}"


def relevance_line(fields: dict[str, Any]) -> str:
    """The stderr line after ``ask --relevance``'s answer: where the answer rests, by how much
    removing a slab lowers its log-probability at most, and what computing it cost.

    "Up to": each slab was removed alone, so the top slices' figure is the largest single
    drop, not what removing them all at once would do. Where no removal lowers it, the line
    says so rather than naming slices it does not rest on."""
    record = fields.get(RELEVANCE_KEY)
    if record is None:
        return f"[occlusion relevance: none: {fields.get(REASON_KEY, 'not computed')}]"
    values = record["original_slices"]
    largest = max(values)
    seconds = f"{record['seconds']:.1f} s"
    if largest <= 0:
        return (f"[occlusion: removing no slice lowers the answer's log-probability "
                f"(largest change {largest:+.3f} nats); {seconds}]")
    top = [k for k in record["top_slices"] if values[k - 1] > 0]  # slices whose removal lowers it
    return (f"[occlusion: the answer rests most on {stored_ranges(top, record['n_slices'])} "
            f"(removing them lowers its log-probability by up to {largest:.3f} nats); {seconds}]")
