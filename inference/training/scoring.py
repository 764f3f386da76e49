"""Answers scored against the truth, question by question: the tallies behind
:func:`~inference.training.evaluate.evaluate`'s metrics.

Example:
    >>> tally = AnswerTally()                      # doctest: +SKIP
    >>> tally.add(qa, session.ask(qa.question, qa.task), case.lesion)  # doctest: +SKIP
    >>> tally.summary(bertscore=False)["closed_accuracy"]["macro"]     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import metrics as M
from .synthetic import NO_LESION, QA, Lesion

PRESENCE_KINDS = ("abnormality", "disease")  # the yes/no questions on whether a lesion is there
# questions about the lesion: TG-IS should look at its slices (plane, phase, organ are not)
LESION_KINDS = ("abnormality", "disease", "location", "size", "findings")
SIZE_TOLERANCE_MM = 5.0  # a size answer this close to the diameter counts as right


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


@dataclass
class AnswerTally:
    """What each answer got right, kept per question type until :meth:`summary`."""

    closed: dict[str, list[float]] = field(default_factory=dict)  # right (1) or not, per kind
    said: list[bool | None] = field(default_factory=list)  # yes/no template: the answer ...
    truth: list[bool] = field(default_factory=list)  # ... and the truth
    yes_probability: list[float] = field(default_factory=list)  # presence questions: P(yes) ...
    present: list[bool] = field(default_factory=list)  # ... and whether a lesion is there
    predictions: list[str] = field(default_factory=list)  # open answers, for the text metrics ...
    references: list[str] = field(default_factory=list)  # ... and their truth
    choice_side: list[float] = field(default_factory=list)  # multiple-choice location: the side ...
    choice_third: list[float] = field(default_factory=list)  # ... and the third, apart
    open_side: list[float] = field(default_factory=list)  # the same for the open location answer
    open_third: list[float] = field(default_factory=list)
    open_missed: list[float] = field(default_factory=list)  # ... and whether it names no place at all
    no_place: list[float] = field(default_factory=list)  # location asked with no lesion: names none
    size_close: list[float] = field(default_factory=list)  # within SIZE_TOLERANCE_MM (none given: 0)
    size_error: list[float] = field(default_factory=list)  # |said - true| mm, of answers that give one
    open_phase: list[float] = field(default_factory=list)  # the open phase answer names the right one
    lesion_mass: list[float] = field(default_factory=list)  # TG-IS mass on the lesion's slices ...
    uniform_mass: list[float] = field(default_factory=list)  # ... and what uniform scores would put there

    def add(self, qa: QA, answer, lesion: Lesion | None) -> None:
        """Score one ``answer`` (a :class:`~inference.chat.session.Answer`) to ``qa`` about a
        case with ``lesion`` (None: none inserted)."""
        if qa.task == "choice":
            self._add_choice(qa, answer.text)
        elif qa.answer in ("yes", "no"):
            self._add_yes_no(qa, answer)
        else:
            self._add_open(qa, answer.text, lesion)
        if lesion is not None and qa.kind in LESION_KINDS:
            mass, uniform = M.lesion_score_mass(answer.original_scores, lesion.slices)
            self.lesion_mass.append(mass)
            self.uniform_mass.append(uniform)

    def _add_choice(self, qa: QA, text: str) -> None:
        self.closed.setdefault(qa.kind, []).append(float(M.closed_correct(text, qa.answer[0])))
        if qa.kind == "location":  # partial credit: the side and the third apart
            side, third = M.same_place(M.chosen_option(text, qa.choices) or "", qa.answer)
            self.choice_side.append(float(side))
            self.choice_third.append(float(third))

    def _add_yes_no(self, qa: QA, answer) -> None:
        said = M.parse_yes_no(answer.text)
        self.closed.setdefault(qa.kind, []).append(float(said == (qa.answer == "yes")))
        if qa.task == "yes_no":
            self.said.append(said)
            self.truth.append(qa.answer == "yes")
        if qa.kind in PRESENCE_KINDS:
            self.yes_probability.append(answer.yes_probability)
            self.present.append(qa.answer == "yes")

    def _add_open(self, qa: QA, text: str, lesion: Lesion | None) -> None:
        self.predictions.append(text)
        self.references.append(qa.answer)
        if qa.kind == "location":
            names_none = float(M.named_place(text) == (None, None))
            if qa.answer == NO_LESION:
                self.no_place.append(names_none)
            else:
                side, third = M.same_place(text, qa.answer)
                self.open_side.append(float(side))
                self.open_third.append(float(third))
                self.open_missed.append(names_none)
        elif qa.kind == "size" and lesion is not None:
            said_mm = M.named_size_mm(text)
            error = np.inf if said_mm is None else abs(said_mm - lesion.diameter_mm)
            self.size_close.append(float(error <= SIZE_TOLERANCE_MM))
            if said_mm is not None:
                self.size_error.append(float(error))
        elif qa.kind == "phase":
            self.open_phase.append(float(M.named_phase(text) == qa.answer))

    def summary(self, bertscore: bool = True) -> dict:
        """The metrics over every answer added (see ``ctchat eval``)."""
        yes_no = M.binary_scores(self.said, self.truth)
        return {
            "closed_accuracy": {**M.macro_micro(self.closed), **{k: _mean(v) for k, v in self.closed.items()}},
            "closed_n": {k: len(v) for k, v in self.closed.items()},
            "yes_no": {"balanced_accuracy": yes_no.balanced_accuracy, "precision": yes_no.precision,
                       "recall": yes_no.recall, "f1": yes_no.f1, "n": yes_no.n},
            "presence_auc": M.roc_auc(self.yes_probability, self.present),
            # of the location answers, those with the right side and those with the right third
            "location_side": _mean(self.choice_side),
            "location_third": _mean(self.choice_third),
            "location_open_n": len(self.open_side),
            "location_open_side": _mean(self.open_side),
            "location_open_third": _mean(self.open_third),
            "location_open_no_place": _mean(self.open_missed),  # says none where there is a lesion
            "location_absent_n": len(self.no_place),
            "location_absent_no_place": _mean(self.no_place),
            "size_n": len(self.size_close),
            "size_within_tolerance": _mean(self.size_close),
            "size_median_error_mm": float(np.median(self.size_error)) if self.size_error else float("nan"),
            "phase_open_n": len(self.open_phase),
            "phase_open": _mean(self.open_phase),
            "text": M.text_metrics(self.predictions, self.references, bertscore=bertscore),
            "tgis_lesion_mass": _mean(self.lesion_mass),
            "tgis_uniform_mass": _mean(self.uniform_mass),
        }
