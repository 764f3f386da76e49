"""Answers scored against the truth: one small scorer per question kind, each keeping its own
tally, giving its own metrics and rendering its own rows of ``ctchat eval``'s table.

A :class:`Scorecard` passes every answer to every scorer (each takes what concerns it), merges
their metrics into one dictionary (``ctchat eval --json``) and lists their rows in order.

Example:
    >>> card = Scorecard()                                                   # doctest: +SKIP
    >>> card.add(qa, session.ask(qa.question), case.lesion)                  # doctest: +SKIP
    >>> card.summary(bertscore=False)["closed_accuracy"]["macro"]            # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from training.data.synthetic import LESION_KINDS, NO_LESION, PRESENCE_KINDS, QA, Lesion
from training.evaluation import metrics as M

SIZE_TOLERANCE_MM = 5.0  # a size answer this close to the diameter counts as right
Row = tuple[str, Callable[[dict], float]]  # a table label, and how to read it from a summary


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


class Scorer:
    """One kind of scoring: :meth:`add` every answer (ignoring what is not its kind), then
    :meth:`summary` (its metrics) and :meth:`rows` (its table rows, given the first column's
    merged summary, so a row appears only where its questions were asked)."""

    def add(self, qa: QA, answer, lesion: Lesion | None) -> None:
        """Score ``answer`` (a :class:`~inference.chat.session.Answer`) to ``qa`` about a case
        with ``lesion`` (None: none inserted)."""

    def summary(self, bertscore: bool) -> dict:
        return {}

    def rows(self, first: dict, bertscore: bool) -> list[Row]:
        return []


def _closed_answer(qa: QA) -> bool:
    """Questions scored right or wrong: multiple choice, and yes/no answers."""
    return qa.task == "choice" or qa.answer in ("yes", "no")


@dataclass
class ClosedScorer(Scorer):
    """Closed accuracy per question kind, macro and micro (M3D-Bench's "X." rule, or "(X)"; a
    yes/no answer right when its first word is)."""

    right: dict[str, list[float]] = field(default_factory=dict)

    def add(self, qa, answer, lesion):
        if qa.task == "choice":
            self.right.setdefault(qa.kind, []).append(float(M.closed_correct(answer.text, qa.answer[0])))
        elif _closed_answer(qa):
            said = M.parse_yes_no(answer.text)
            self.right.setdefault(qa.kind, []).append(float(said == (qa.answer == "yes")))

    def summary(self, bertscore):
        return {"closed_accuracy": {**M.macro_micro(self.right), **{k: _mean(v) for k, v in self.right.items()}},
                "closed_n": {k: len(v) for k, v in self.right.items()}}

    def rows(self, first, bertscore):
        rows: list[Row] = [("closed accuracy, macro", lambda r: r["closed_accuracy"]["macro"]),
                           ("closed accuracy, micro", lambda r: r["closed_accuracy"]["micro"])]
        return rows + [(f"  {kind} (n={n})", lambda r, k=kind: r["closed_accuracy"][k])
                       for kind, n in first["closed_n"].items()]


@dataclass
class LocationScorer(Scorer):
    """Where the lesion is: the chosen option's and the open answer's side and third apart, an
    open answer that names no place on a lesion (missed) and on a lesion-free scan (right)."""

    choice_side: list[float] = field(default_factory=list)
    choice_third: list[float] = field(default_factory=list)
    open_side: list[float] = field(default_factory=list)
    open_third: list[float] = field(default_factory=list)
    open_missed: list[float] = field(default_factory=list)
    no_place: list[float] = field(default_factory=list)

    def add(self, qa, answer, lesion):
        if qa.kind != "location":
            return
        text = answer.text
        if qa.task == "choice":
            side, third = M.same_place(M.chosen_option(text, qa.question.choices) or "", qa.answer)
            self.choice_side.append(float(side))
            self.choice_third.append(float(third))
            return
        if _closed_answer(qa):
            return
        names_none = float(M.named_place(text) == (None, None))
        if qa.answer == NO_LESION:
            self.no_place.append(names_none)
            return
        side, third = M.same_place(text, qa.answer)
        self.open_side.append(float(side))
        self.open_third.append(float(third))
        self.open_missed.append(names_none)

    def summary(self, bertscore):
        return {
            "location_side": _mean(self.choice_side),
            "location_third": _mean(self.choice_third),
            "location_open_n": len(self.open_side),
            "location_open_side": _mean(self.open_side),
            "location_open_third": _mean(self.open_third),
            "location_open_no_place": _mean(self.open_missed),  # says none where there is a lesion
            "location_absent_n": len(self.no_place),
            "location_absent_no_place": _mean(self.no_place),
        }

    def rows(self, first, bertscore):
        rows: list[Row] = []
        if "location" in first["closed_n"]:
            rows += [("    side right", lambda r: r["location_side"]),
                     ("    third right", lambda r: r["location_third"])]
        if first["location_open_n"]:
            rows += [(f"  open location (n={first['location_open_n']}): side", lambda r: r["location_open_side"]),
                     ("    third right", lambda r: r["location_open_third"]),
                     ("    names no place (missed)", lambda r: r["location_open_no_place"])]
        if first["location_absent_n"]:
            rows.append((f"  no lesion: names no place (n={first['location_absent_n']})",
                         lambda r: r["location_absent_no_place"]))
        return rows


@dataclass
class SizeScorer(Scorer):
    """The lesion's diameter: within :data:`SIZE_TOLERANCE_MM` (no size given: wrong), and the
    median error of the answers that give one."""

    close: list[float] = field(default_factory=list)
    error: list[float] = field(default_factory=list)

    def add(self, qa, answer, lesion):
        if qa.kind != "size" or _closed_answer(qa) or lesion is None:
            return
        said_mm = M.named_size_mm(answer.text)
        error = np.inf if said_mm is None else abs(said_mm - lesion.diameter_mm)
        self.close.append(float(error <= SIZE_TOLERANCE_MM))
        if said_mm is not None:
            self.error.append(float(error))

    def summary(self, bertscore):
        return {"size_n": len(self.close), "size_within_tolerance": _mean(self.close),
                "size_median_error_mm": float(np.median(self.error)) if self.error else float("nan")}

    def rows(self, first, bertscore):
        if not first["size_n"]:
            return []
        return [(f"  size within {SIZE_TOLERANCE_MM:.0f} mm (n={first['size_n']})", lambda r: r["size_within_tolerance"]),
                ("    median error, mm", lambda r: r["size_median_error_mm"])]


@dataclass
class PhaseScorer(Scorer):
    """The open phase answer names the right contrast phase."""

    right: list[float] = field(default_factory=list)

    def add(self, qa, answer, lesion):
        if qa.kind == "phase" and not _closed_answer(qa):
            self.right.append(float(M.named_phase(answer.text) == qa.answer))

    def summary(self, bertscore):
        return {"phase_open_n": len(self.right), "phase_open": _mean(self.right)}

    def rows(self, first, bertscore):
        n = first["phase_open_n"]
        return [(f"  open phase (n={n})", lambda r: r["phase_open"])] if n else []


@dataclass
class YesNoScorer(Scorer):
    """CT-RATE's yes/no diagnosis questions: balanced accuracy, precision, recall, F1."""

    said: list[bool | None] = field(default_factory=list)
    truth: list[bool] = field(default_factory=list)

    def add(self, qa, answer, lesion):
        if qa.task == "yes_no" and _closed_answer(qa):
            self.said.append(M.parse_yes_no(answer.text))
            self.truth.append(qa.answer == "yes")

    def summary(self, bertscore):
        s = M.binary_scores(self.said, self.truth)
        return {"yes_no": {"balanced_accuracy": s.balanced_accuracy, "precision": s.precision,
                           "recall": s.recall, "f1": s.f1, "n": s.n}}

    def rows(self, first, bertscore):
        if not first["yes_no"]["n"]:
            return []
        return [("yes/no balanced accuracy", lambda r: r["yes_no"]["balanced_accuracy"]),
                ("yes/no F1", lambda r: r["yes_no"]["f1"])]


@dataclass
class PresenceScorer(Scorer):
    """Lesion presence ranked without a threshold: the ROC AUC of each answer's P(yes)."""

    yes_probability: list[float] = field(default_factory=list)
    present: list[bool] = field(default_factory=list)

    def add(self, qa, answer, lesion):
        if qa.kind in PRESENCE_KINDS and _closed_answer(qa) and qa.task != "choice":
            self.yes_probability.append(answer.yes_probability)
            self.present.append(qa.answer == "yes")

    def summary(self, bertscore):
        return {"presence_auc": M.roc_auc(self.yes_probability, self.present)}

    def rows(self, first, bertscore):
        if not any(kind in first["closed_n"] for kind in PRESENCE_KINDS):
            return []
        return [("lesion presence ROC AUC", lambda r: r["presence_auc"])]


@dataclass
class TextScorer(Scorer):
    """The open answers' text against the truth: BLEU-1, ROUGE-1, METEOR, BERTScore."""

    predictions: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def add(self, qa, answer, lesion):
        if not _closed_answer(qa):
            self.predictions.append(answer.text)
            self.references.append(qa.answer)

    def summary(self, bertscore):
        return {"text": M.text_metrics(self.predictions, self.references, bertscore=bertscore)}

    def rows(self, first, bertscore):
        rows: list[Row] = [("BLEU-1", lambda r: r["text"]["bleu1"]), ("ROUGE-1", lambda r: r["text"]["rouge1"]),
                           ("METEOR (exact+stem)", lambda r: r["text"]["meteor"])]
        if bertscore:
            rows.append(("BERTScore F1 (MiniLM-L6)", lambda r: r["text"]["bertscore_f1"]))
        return rows


@dataclass
class TGISScorer(Scorer):
    """The TG-IS score mass on the lesion's slices, against what uniform scores put there."""

    lesion_mass: list[float] = field(default_factory=list)
    uniform_mass: list[float] = field(default_factory=list)

    def add(self, qa, answer, lesion):
        if lesion is not None and qa.kind in LESION_KINDS and answer.original_scores is not None:
            mass, uniform = M.lesion_score_mass(answer.original_scores, lesion.slices)
            self.lesion_mass.append(mass)
            self.uniform_mass.append(uniform)

    def summary(self, bertscore):
        return {"tgis_lesion_mass": _mean(self.lesion_mass), "tgis_uniform_mass": _mean(self.uniform_mass)}

    def rows(self, first, bertscore):
        return [("TG-IS mass on lesion slices", lambda r: r["tgis_lesion_mass"]),
                ("  uniform would give", lambda r: r["tgis_uniform_mass"])]


class Scorecard:
    """Every scorer, in the order of ``ctchat eval``'s table."""

    def __init__(self) -> None:
        self.scorers: list[Scorer] = [ClosedScorer(), LocationScorer(), SizeScorer(), PhaseScorer(),
                                      YesNoScorer(), PresenceScorer(), TextScorer(), TGISScorer()]

    def add(self, qa: QA, answer, lesion: Lesion | None) -> None:
        """Score one answer with every scorer."""
        for scorer in self.scorers:
            scorer.add(qa, answer, lesion)

    def summary(self, bertscore: bool = True) -> dict:
        """The metrics of every scorer, merged (see ``ctchat eval --json``)."""
        merged: dict = {}
        for scorer in self.scorers:
            merged.update(scorer.summary(bertscore))
        return merged

    def rows(self, first: dict, bertscore: bool = True) -> list[Row]:
        """The table's rows, given the first column's summary."""
        return [row for scorer in self.scorers for row in scorer.rows(first, bertscore)]
