"""Honesty checks beside an answer: what the bundle declares it was trained on, set against the
scan and the question. Nothing here changes an answer; each check returns sentences to show
next to it.

* :func:`check_region`: does the scan show what the model's training scans showed (the lungs,
  for a chest model)? Said before any answer.
* :func:`question_in_scope`, :func:`out_of_scope_reason`: was the model trained on this kind of
  question, and if not, why not?
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

from ..body_region import MIN_FIELD_MM, MIN_LUNG_FRACTION, field_of_view_mm, header_regions, header_words, lung_fraction
from ..bundle import TrainedScope
from ..io.volume import Volume
from ..question import Question

NOT_TRAINED = "This model was not trained to answer this"
NOT_DECLARED_NOTE = "This bundle does not declare what its model was trained to answer"
UNCERTAIN_BAND = 0.15  # |P(yes) - 0.5| below this: the model is as good as undecided
# organs and structures a question may name: one that is not among a bundle's topics (for the
# default bundle: anything but the lungs and a nodule or mass in them) is outside its training
STRUCTURE_WORDS = frozenset("""
    aorta aortic heart cardiac pericardium pericardial artery arteries vein veins vessel vessels
    trachea bronchus bronchi oesophagus esophagus thyroid mediastinum mediastinal pleura diaphragm
    liver hepatic spleen kidney kidneys renal adrenal pancreas gallbladder stomach bowel colon bladder
    prostate uterus ovary brain skull bone bones rib ribs spine vertebra vertebrae sternum muscle breast
    lymph node nodes
""".split())


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


def check_region(volume: Volume, scope: TrainedScope) -> RegionCheck:
    """Does ``volume`` show the structure the bundle's training scans showed?

    What the header says (body part, study and series description) decides where it names
    only regions without the lungs (the head, the abdomen); the image decides otherwise.
    """
    if not scope.declared or scope.required_structure != "lungs":
        return RegionCheck("not_checked", float("nan"), "")
    if not volume.in_hu:
        return RegionCheck("unknown", float("nan"),
                           "This image is a preprocessed array without Hounsfield units, so whether it holds "
                           f"the lungs cannot be checked; this model was trained on {scope.body_region} only.")
    field = field_of_view_mm(volume)
    if field < MIN_FIELD_MM:
        return RegionCheck("unknown", float("nan"),
                           f"This scan's field of view ({field:.0f} mm) is too small to show whether it holds "
                           f"the lungs; this model was trained on {scope.body_region} only, so its answers "
                           "about this scan may not be meaningful.")
    fraction = lung_fraction(volume.voxels)
    named = header_regions(volume.metadata)
    if named and "chest" not in named:  # a head is a head however much air it holds
        return RegionCheck("outside", fraction,
                           f"This scan's header says it shows the {' and '.join(sorted(named))} "
                           f"({header_words(volume.metadata)}), and this model was trained on {scope.body_region} "
                           "only: it is outside the trained region, and the model's answers about it are not "
                           "meaningful.")
    if fraction < MIN_LUNG_FRACTION:
        return RegionCheck("outside", fraction,
                           f"This scan shows almost no lung ({fraction:.1%} of the body is lung), and this model "
                           f"was trained on {scope.body_region} only: it is outside the trained region, and "
                           "the model's answers about it are not meaningful.")
    return RegionCheck("inside", fraction, "")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def out_of_scope_reason(question: Question, scope: TrainedScope, known_diseases: tuple[str, ...] = ()) -> str:
    """Why the bundle was not trained on this kind of question ("" when it was, or when its
    scope is undeclared: then nothing can be said either way).

    A yes/no question is in scope for a declared disease only. An open or multiple-choice
    question is in scope for a bundle that lists no ``topics`` (the words of its questions: a
    model of many findings); for one that does, it is out of scope when it names a disease of
    ``known_diseases`` (CT-RATE's list) that is not declared, an organ or structure of
    :data:`STRUCTURE_WORDS` that is not one of the topics (the liver, the aorta, for a lung
    nodule model), uses none of the topic words, or is an open question on topics it was asked
    only as multiple choice.
    """
    if not scope.declared:
        return ""
    if question.task not in scope.tasks:
        return f"it was not trained on {question.task.replace('_', '/')} questions"
    declared = {d.lower() for d in scope.yes_no_diseases}
    if question.task == "yes_no":
        if question.disease.strip().lower() in declared:
            return ""
        return (f"its yes/no question was trained for {', '.join(scope.yes_no_diseases) or 'no disease'} only, "
                f"not for {question.disease.strip()}")
    if question.task == "report" or not scope.topics:  # no topics: a model of many findings (M3D-VQA)
        return ""
    text = " ".join([question.text, *question.choices]).lower()
    named = [d for d in known_diseases if d.lower() in text and d.lower() not in declared]
    if named:
        return f"it names {named[0]}, which it was not trained on"
    asked = _words(question.text)  # the options of a trained choice question may name other organs
    structures = sorted((asked & STRUCTURE_WORDS) - set(scope.topics))
    if structures:
        return f"it asks about the {structures[0]}, and none of its trained questions does"
    topics = _words(text) & set(scope.topics)
    if not topics:
        return "none of its trained questions asks this"
    if question.task == "open" and topics <= set(scope.choice_only_topics):
        return (f"it was asked the {' and '.join(sorted(topics))} question only as multiple choice "
                "(give the options to ask it that way)")
    return ""


def question_in_scope(question: Question, scope: TrainedScope, known_diseases: tuple[str, ...] = ()) -> bool:
    """True when the bundle declares this kind of question (see :func:`out_of_scope_reason`);
    an undeclared scope answers False (nothing is known to be in it)."""
    return scope.declared and not out_of_scope_reason(question, scope, known_diseases)


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
    reason = out_of_scope_reason(question, scope, known_diseases)
    if not scope.declared:
        notes.append(f"{NOT_DECLARED_NOTE}.")
    elif reason and question.task == "yes_no":  # P(yes) 1.00 must not read as confidence
        odds = "" if math.isnan(yes_probability) else f" P(yes) {yes_probability:.2f}"
        notes.append(f"{NOT_TRAINED}: {reason}, so its answer and its{odds} are not meaningful "
                     "(see About this model).")
    elif reason:
        notes.append(f"{NOT_TRAINED}: {reason} (see About this model).")
    if not reason and answers_yes_or_no(question, text) and is_uncertain(yes_probability):
        notes.append(f"Uncertain: the model's P(yes) is {yes_probability:.2f}, close to 0.5.")
    says_no = bool(re.match(r"\W*no\b", text.lower())) or "no other" in text.lower()
    if scope.negative_caveat and (question.task == "report" or says_no):
        notes.append(scope.negative_caveat)
    return notes
