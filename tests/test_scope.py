"""Honesty checks: the trained region on real scans, questions inside and outside the bundle's
declared scope, uncertainty from P(yes), and the free-text routing to the report task."""

from __future__ import annotations

import math

import pytest

from inference.bundle import NOT_DECLARED, TrainedScope, load_bundle
from inference.chat.scope import (MIN_LUNG_FRACTION, NOT_TRAINED, answer_notes, check_region, is_uncertain,
                                  question_in_scope)
from inference.io import load_volume
from inference.llm.prompt import ct_rate_diseases
from inference.question import Question
from inference.resources import shared_ct_dir

DATA = shared_ct_dir()
CHEST = ("dicom/chest_lungdx_A0001_5mm", "dicom/chest_lungdx_A0002_8mm",
         "nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz", "nifti/chest_cta_aorta_crop_totalseg_1p5mm.nii.gz")
ABDOMEN = ("dicom/upperabd_totalseg_j2k_20sl", "nifti/abdomen_pelvis_totalseg_example_ct_3mm.nii.gz",
           "nifti/abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz")
HEAD_CROPS = "tiny/monai_CT_DICOM_16x16"


def _volume(rel: str):
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"test data missing: {path}")
    return load_volume(path)


@pytest.fixture(scope="module")
def scope() -> TrainedScope:
    return load_bundle("default").scope


def test_the_default_bundle_declares_a_chest_scope(scope):
    assert scope.declared and scope.required_structure == "lungs"
    assert scope.yes_no_diseases == ("lung nodule",)
    assert set(scope.tasks) == {"open", "choice", "yes_no", "report"}
    assert "chest" in scope.body_region and any("12 mm" in x for x in scope.limits)


def test_a_manifest_without_a_scope_says_not_declared():
    scope = TrainedScope.from_manifest({"name": "x"})
    assert not scope.declared
    assert set(scope.describe().values()) == {NOT_DECLARED}
    notes = answer_notes(Question("open", "Is there a nodule?"), "yes", 0.9, scope)
    assert notes == ["This bundle does not declare what its model was trained to answer."]
    assert TrainedScope.from_manifest({"trained_scope": scope.to_dict() | {"tasks": ["open"]}}).declared


@pytest.mark.parametrize("rel", CHEST)
def test_chest_scans_are_inside_the_region(rel, scope):
    check = check_region(_volume(rel), scope)
    assert check.status == "inside" and check.lung_fraction > 1.5 * MIN_LUNG_FRACTION and not check.warns


@pytest.mark.parametrize("rel", ABDOMEN)
def test_abdomen_scans_are_outside_the_region(rel, scope):
    check = check_region(_volume(rel), scope)
    assert check.status == "outside" and check.lung_fraction < 0.6 * MIN_LUNG_FRACTION and check.warns
    assert "outside the trained region" in check.message and "chest CT" in check.message


def test_head_crops_cannot_show_the_lungs(scope):
    check = check_region(_volume(HEAD_CROPS), scope)
    assert check.status == "unknown" and check.warns and "too small" in check.message


def test_a_bundle_without_a_required_structure_checks_nothing():
    check = check_region(_volume(ABDOMEN[2]), TrainedScope(True, tasks=("open",), body_region="many"))
    assert check.status == "not_checked" and not check.warns and math.isnan(check.lung_fraction)


def test_questions_inside_and_outside_the_declared_scope(scope):
    diseases = tuple(ct_rate_diseases())
    inside = [Question.yes_no("lung nodule"), Question.yes_no("Lung nodule"), Question.findings(),
              Question("open", "Where is the nodule?"), Question("open", "What is the diameter of the mass?"),
              Question("choice", "Which plane?", ("axial", "coronal"))]
    outside = [Question.yes_no("emphysema"), Question.yes_no("cardiomegaly"),
               Question("open", "Is there pleural effusion?"), Question("open", "Is the heart normal?"),
               Question("choice", "Is there emphysema in the lungs?", ("yes", "no"))]
    assert all(question_in_scope(q, scope, diseases) for q in inside)
    assert not any(question_in_scope(q, scope, diseases) for q in outside)
    assert not question_in_scope(Question.yes_no("lung nodule"), TrainedScope(True, tasks=("open",)))


def test_answer_notes_sit_beside_the_answer(scope):
    notes = answer_notes(Question.yes_no("emphysema"), "yes", 0.93, scope)
    assert notes and notes[0].startswith(NOT_TRAINED)
    assert answer_notes(Question.yes_no("lung nodule"), "yes", 0.93, scope) == []
    uncertain = answer_notes(Question.yes_no("lung nodule"), "yes", 0.55, scope)
    assert uncertain == ["Uncertain: the model's P(yes) is 0.55, close to 0.5."]
    # a negative answer or a report says what it cannot rule out
    assert answer_notes(Question.yes_no("lung nodule"), "no", 0.1, scope) == [scope.negative_caveat]
    report = "A solid nodule of 14 mm is seen in the left lower lung zone. No other nodule or mass is seen."
    assert answer_notes(Question.findings(), report, 0.5, scope) == [scope.negative_caveat]
    assert "under 12 mm" in scope.negative_caveat
    # P(yes) of the first token means nothing for a sentence that does not start yes or no
    assert answer_notes(Question("open", "Where is the nodule?"), "left lower lung zone", 0.5, scope) == []
    assert is_uncertain(0.36) and not is_uncertain(0.2) and not is_uncertain(float("nan"))


@pytest.mark.parametrize("text", ["Write the findings for this CT.", "Describe the findings", "report",
                                  "Write a radiology report of this scan", "What are the findings?",
                                  "Findings please"])
def test_a_request_for_the_findings_is_the_report_task(text):
    assert Question.typed(text).task == "report"


@pytest.mark.parametrize("text", ["Is there a nodule in the report?", "Where is the nodule?",
                                  "Describe the lungs.", "What is the size of the finding in the left lung?"])
def test_other_questions_stay_open(text):
    q = Question.typed(text)
    assert q.task == "open" and q.text == text.strip()


def test_typed_options_make_a_choice_question_even_for_findings_words():
    assert Question.typed("Which report?", ("a", "b")).task == "choice"


def test_a_converted_published_model_declares_m3d_data():
    pytest.importorskip("torch")
    from convert.bundle_out import M3D_DATA_SCOPE as m3d

    assert m3d.declared and set(m3d.tasks) == {"open", "choice", "report"} and not m3d.required_structure
    assert "various body parts" in m3d.body_region and m3d.describe()["yes/no diseases"] == "none"
    diseases = tuple(ct_rate_diseases())
    assert question_in_scope(Question("open", "Is there pleural effusion?"), m3d, diseases)  # M3D-VQA abnormality
    assert not question_in_scope(Question.yes_no("emphysema"), m3d, diseases)  # no yes/no task
    assert check_region(_volume(ABDOMEN[2]), m3d).status == "not_checked"


@pytest.mark.parametrize("text", ["What is the diameter of the aorta?", "What is the size of the liver?",
                                  "What organ is shown?", "In which plane is this CT shown?"])
def test_open_questions_of_an_untrained_kind_carry_a_note(text, scope):
    """An organ other than the lungs, or an open form of a question trained only as multiple choice."""
    question = Question.typed(text)
    assert question.task == "open" and not question_in_scope(question, scope, tuple(ct_rate_diseases()))
    notes = answer_notes(question, "24 mm", float("nan"), scope)
    assert notes and notes[0].startswith(NOT_TRAINED)
    word = {"aorta": "the aorta", "liver": "the liver"}
    assert any(f"asks about {w}" in notes[0] for k, w in word.items() if k in text) or "multiple choice" in notes[0]


def test_the_trained_organ_and_plane_questions_are_multiple_choice(scope):
    assert set(scope.choice_only_topics) == {"plane", "organ"}
    organ = Question("choice", "Which organ system is the focus of this chest CT?",
                     ("lungs", "liver", "brain", "kidneys"))
    assert question_in_scope(organ, scope, tuple(ct_rate_diseases()))
    assert question_in_scope(Question("open", "What is the contrast phase of this CT?"), scope)


def test_an_untrained_yes_no_disease_says_its_probability_means_nothing(scope):
    notes = answer_notes(Question.yes_no("emphysema"), "yes", 1.0, scope)
    assert notes == [f"{NOT_TRAINED}: its yes/no question was trained for lung nodule only, not for emphysema, "
                     "so its answer and its P(yes) 1.00 are not meaningful (see About this model)."]
    # not "uncertain" beside it either: an untrained P(yes) says nothing, near 0.5 or not
    assert len(answer_notes(Question.yes_no("emphysema"), "yes", 0.52, scope)) == 1
