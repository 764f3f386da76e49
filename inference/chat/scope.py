"""Honesty checks beside an answer: what the bundle declares it was trained on, set against the
scan and the question. Nothing here changes an answer; each check returns sentences to show
next to it.

* :func:`check_region`: does the scan show what the model's training scans showed (the lungs,
  for a chest model)? Said before any answer.
* :func:`question_in_scope`: was the model trained on this kind of question?
* :func:`answer_notes`: the notes of one answer (outside the trained scope, uncertain P(yes)).

Example:
    >>> from inference.bundle import TrainedScope
    >>> scope = TrainedScope(True, tasks=("yes_no",), yes_no_diseases=("lung nodule",))
    >>> question_in_scope(Question.yes_no("emphysema"), scope)
    False
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..bundle import TrainedScope
from ..io.volume import Volume
from ..question import Question

NOT_TRAINED = "This model was not trained to answer this"
NOT_DECLARED_NOTE = "This bundle does not declare what its model was trained to answer"
UNCERTAIN_BAND = 0.15  # |P(yes) - 0.5| below this: the model is as good as undecided
AIR_HU = -400.0  # below: air or lung
LUNG_MEDIAN_HU = -960.0  # air reaching the edge with a median above this is lung (the room: about -1000)
MIN_LUNG_FRACTION = 0.10  # measured: chest CTs 0.19-0.39, abdomen CTs 0.01-0.05 (tests/test_scope.py)
MIN_FIELD_MM = 100.0  # a smaller field of view cannot show whether the lungs are there
ANALYSIS_WIDTH = 128  # the check runs on a copy at most this many pixels across


@dataclass(frozen=True)
class RegionCheck:
    """Whether a scan lies in the model's trained body region.

    Attributes:
        status: ``"inside"``, ``"outside"``, ``"unknown"`` (too small a field of view to tell)
            or ``"not_checked"`` (the bundle requires no structure, or declares none).
        lung_fraction: the share of the scan's non-air voxels that are lung parenchyma (NaN
            when not measured).
        message: the sentence for the reader ("" when inside).
    """

    status: str
    lung_fraction: float
    message: str

    @property
    def warns(self) -> bool:
        """True when the reader must be told before any answer."""
        return self.status in ("outside", "unknown")

    def to_dict(self) -> dict:
        """For ``ctchat ask --json``."""
        return {"status": self.status,
                "lung_fraction": None if math.isnan(self.lung_fraction) else round(self.lung_fraction, 4),
                "message": self.message}


def _border_connected(mask: np.ndarray) -> np.ndarray:
    """The parts of each slice's ``mask`` connected (4-neighbours) to the slice's edge."""
    grown = np.zeros_like(mask)
    grown[:, [0, -1], :] = mask[:, [0, -1], :]
    grown[:, :, [0, -1]] = mask[:, :, [0, -1]]
    while True:
        step = grown.copy()
        step[:, 1:, :] |= grown[:, :-1, :]
        step[:, :-1, :] |= grown[:, 1:, :]
        step[:, :, 1:] |= grown[:, :, :-1]
        step[:, :, :-1] |= grown[:, :, 1:]
        step &= mask
        if np.array_equal(step, grown):
            return grown
        grown = step


def lung_fraction(voxels: np.ndarray) -> float:
    """The share of the scan's non-air-around-it voxels that are lung.

    Per slice, air (< -400 HU) enclosed by tissue is lung (or the airway, or bowel gas: small);
    air reaching the slice's edge is the room around the body, unless its median HU is that
    of lung parenchyma (above -960 HU; the room is about -1000), as in a crop through the chest.
    """
    step = max(1, max(voxels.shape[1:]) // ANALYSIS_WIDTH)
    hu = np.asarray(voxels[:, ::step, ::step], dtype=np.float32)
    air = hu < AIR_HU
    outside = _border_connected(air)
    lung = air & ~outside
    for k in range(hu.shape[0]):
        if outside[k].any() and np.median(hu[k][outside[k]]) > LUNG_MEDIAN_HU:
            lung[k] |= outside[k]
    total = int(lung.sum() + (~air).sum())
    return float(lung.sum()) / total if total else 0.0


def check_region(volume: Volume, scope: TrainedScope) -> RegionCheck:
    """Does ``volume`` show the structure the bundle's training scans showed?"""
    if not scope.declared or scope.required_structure != "lungs":
        return RegionCheck("not_checked", float("nan"), "")
    if not volume.in_hu:
        return RegionCheck("unknown", float("nan"),
                           "This image is a preprocessed array without Hounsfield units, so whether it holds "
                           f"the lungs cannot be checked; this model was trained on {scope.body_region} only.")
    _, dy, dx = volume.spacing_zyx
    field = min(volume.shape[1] * dy, volume.shape[2] * dx)
    if field < MIN_FIELD_MM:
        return RegionCheck("unknown", float("nan"),
                           f"This scan's field of view ({field:.0f} mm) is too small to show whether it holds "
                           f"the lungs; this model was trained on {scope.body_region} only, so its answers "
                           "about this scan may not be meaningful.")
    fraction = lung_fraction(volume.voxels)
    if fraction < MIN_LUNG_FRACTION:
        return RegionCheck("outside", fraction,
                           f"This scan shows almost no lung ({fraction:.1%} of the body is lung), and this model "
                           f"was trained on {scope.body_region} only: it is outside the trained region, and "
                           "the model's answers about it are not meaningful.")
    return RegionCheck("inside", fraction, "")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def question_in_scope(question: Question, scope: TrainedScope, known_diseases: tuple[str, ...] = ()) -> bool:
    """True when the bundle declares this kind of question.

    A yes/no question is in scope for a declared disease only. An open or multiple-choice
    question is in scope for a bundle that lists no ``topics`` (the words of its questions: a
    model of many findings); for one that does, it is out of scope when it names a disease of
    ``known_diseases`` (CT-RATE's list) that is not declared, or uses none of those words. An
    undeclared scope answers False (nothing is known to be in it).
    """
    if not scope.declared or question.task not in scope.tasks:
        return False
    declared = {d.lower() for d in scope.yes_no_diseases}
    if question.task == "yes_no":
        return question.disease.strip().lower() in declared
    if question.task == "report":
        return True
    if not scope.topics:  # a model of many findings (M3D-VQA): any open or choice question
        return True
    text = " ".join([question.text, *question.choices]).lower()
    if any(d.lower() in text and d.lower() not in declared for d in known_diseases):
        return False
    return bool(_words(text) & set(scope.topics))


def is_uncertain(yes_probability: float) -> bool:
    """True when P(yes) is near 0.5 (within :data:`UNCERTAIN_BAND`)."""
    return not math.isnan(yes_probability) and abs(yes_probability - 0.5) < UNCERTAIN_BAND


def answers_yes_or_no(question: Question, text: str) -> bool:
    """True for a yes/no question, or an answer whose first word is yes or no (where the
    first-token P(yes) means something)."""
    first = re.match(r"\W*([a-z]+)", text.lower())
    return question.task == "yes_no" or bool(first and first.group(1) in ("yes", "no"))


def answer_notes(question: Question, text: str, yes_probability: float, scope: TrainedScope,
                 known_diseases: tuple[str, ...] = ()) -> list[str]:
    """The sentences to show beside one answer (never instead of it)."""
    notes = []
    if not scope.declared:
        notes.append(f"{NOT_DECLARED_NOTE}.")
    elif not question_in_scope(question, scope, known_diseases):
        notes.append(f"{NOT_TRAINED}: it is outside what the bundle declares (see About this model).")
    if answers_yes_or_no(question, text) and is_uncertain(yes_probability):
        notes.append(f"Uncertain: the model's P(yes) is {yes_probability:.2f}, close to 0.5.")
    says_no = bool(re.match(r"\W*no\b", text.lower())) or "no other" in text.lower()
    if scope.negative_caveat and (question.task == "report" or says_no):
        notes.append(scope.negative_caveat)
    return notes
