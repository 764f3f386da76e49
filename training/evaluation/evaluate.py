"""Evaluate a bundle on held-out synthetic cases with the papers' metrics, through the app's
own runtime (ONNX Runtime + llama.cpp), so what is measured is what users run.

Example:
    >>> cases = list(synthetic_cases(shared_ct_dir(), EVAL_SCANS, 16, EVAL_SEED_BASE, crops=True))  # doctest: +SKIP
    >>> evaluate(ChatSession(load_bundle("default")), cases)["closed_accuracy"]["macro"]          # doctest: +SKIP
"""

from __future__ import annotations

from training.data.cases import QUESTION_KINDS, Case
from training.evaluation.question_dependence import QuestionDependence
from training.evaluation.scoring import Scorecard


def only_kinds(cases: list[Case], kinds: tuple[str, ...]) -> list[Case]:
    """The cases' questions of these kinds only, and only the cases left with a question: a
    larger set for one question type in the same time (``kinds=("location",)`` keeps the
    lesion cases with their two location questions and the lesion-free cases with their open one).

    Example:
        >>> located = only_kinds(cases, ("location",))  # doctest: +SKIP
    """
    unknown = set(kinds) - set(QUESTION_KINDS)
    if unknown:
        raise ValueError(f"unknown question kinds {sorted(unknown)}; known: {', '.join(QUESTION_KINDS)}")
    kept = [Case(c.volume, c.lesion, [qa for qa in c.qas if qa.kind in kinds]) for c in cases]
    return [c for c in kept if c.qas]


def evaluate(session, cases: list[Case], max_tokens: int = 40, bertscore: bool = True,
             dependence: QuestionDependence | None = None) -> dict:
    """Ask every question of every case; the papers' metrics over the answers (:class:`Scorecard`).

    ``dependence``: also keep each answer's slice strips, its occlusion relevance computed
    right after it (:mod:`training.evaluation.question_dependence`; one more pass per slab)."""
    card = Scorecard()
    for n, case in enumerate(cases):
        session.load_scan(case.volume)
        if dependence is not None:
            dependence.start_scan(f"case {n + 1}, {'a lesion' if case.lesion is not None else 'no lesion'} inserted")
        for qa in case.qas:
            answer = session.ask(qa.question, max_tokens)
            card.add(qa, answer, case.lesion)
            if dependence is not None:
                dependence.add(session, qa, answer)
    return {"n_cases": len(cases), **card.summary(bertscore)}
