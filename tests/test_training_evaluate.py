"""Held-out evaluation through the app's runtime: split, metrics table, baselines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.chat.session import Answer
from inference.cli import main
from training.data.cases import EVAL_SCANS, EVAL_SEED_BASE, SCAN_FACTS, TRAIN_SCANS, synthetic_cases
from training.evaluation.evaluate import evaluate, only_kinds
from training.data.synthetic import NO_LESION
from training.evaluation.scoring import SIZE_TOLERANCE_MM

HEART = "nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz"


def test_held_out_scans_and_seeds_are_never_trained_on(ct_dir):
    assert set(TRAIN_SCANS).isdisjoint(EVAL_SCANS)
    cases = list(synthetic_cases(ct_dir, (HEART,), 2, EVAL_SEED_BASE))
    assert [c.lesion is not None for c in cases] == [True, False]
    positive, negative = cases
    assert {qa.kind for qa in positive.qas} >= {"location", "size", "disease", "findings"}
    assert [(qa.task, qa.answer) for qa in negative.qas if qa.kind == "location"] == [("open", NO_LESION)]
    phases = {(qa.task, qa.answer.split(". ")[-1]) for qa in positive.qas if qa.kind == "phase"}
    assert phases == {("choice", "contrast-enhanced"), ("open", "contrast-enhanced")}


def test_one_question_kind_keeps_only_the_cases_that_ask_it(ct_dir):
    cases = list(synthetic_cases(ct_dir, (HEART,), 4, EVAL_SEED_BASE))
    located = only_kinds(cases, ("location",))
    assert [c.lesion for c in located] == [c.lesion for c in cases]
    assert [sorted(qa.task for qa in c.qas) for c in located] == [["choice", "open"], ["open"]] * 2
    assert only_kinds(cases, ("size",))[1].lesion is cases[2].lesion  # asked of lesion cases only
    assert located[0].volume is cases[0].volume and len(cases[0].qas) > 2  # the cases are not changed
    with pytest.raises(ValueError, match="unknown question kinds"):
        only_kinds(cases, ("locations",))


def test_scans_with_real_lung_lesions_are_asked_nothing_about_lesions(ct_dir):
    assert SCAN_FACTS[EVAL_SCANS[0]].known_lung_lesion  # A0002: a real perihilar mass
    cases = list(synthetic_cases(ct_dir, EVAL_SCANS[:1], 2, EVAL_SEED_BASE))
    assert all(c.lesion is None for c in cases)
    assert {qa.kind for qa in cases[1].qas} == {"plane", "organ"}  # its phase is not recorded
    # its documented mass is asked about once, answered from the source, not from an insertion
    assert [(qa.question.text, qa.answer) for qa in cases[0].qas if qa.kind == "real_lesion"] == [
        ("Is there a nodule or mass in the lungs?", "yes")]


def test_a0001_lesion_free_part_keeps_clear_of_the_annotated_tumour(ct_dir):
    """The slices A0001's lesion questions use lie 15 mm and more from every slice the
    dataset's tumour boxes mark (annotation files name the instance; its position gives k)."""
    import pydicom

    from inference.io import load_volume

    series = ct_dir / "dicom/chest_lungdx_A0001_5mm"
    volume = load_volume(series)
    z_of_instance = {}
    for path in series.glob("*.dcm"):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        z_of_instance[int(ds.InstanceNumber)] = float(ds.ImagePositionPatient[2])
    boxes = sorted((ct_dir / "dicom/chest_lungdx_A0001_5mm_annotations").glob("*.xml"))
    annotated = {int(p.name.split("__")[0].split("-")[1]) for p in boxes}
    positions = list(volume.slice_positions)
    tumour_k = sorted(positions.index(z_of_instance[i]) for i in annotated)
    first, stop = SCAN_FACTS["dicom/chest_lungdx_A0001_5mm"].lesion_free_slices
    assert len(tumour_k) == 11 and tumour_k == list(range(41, 52))
    gap_mm = (min(tumour_k) - (stop - 1)) * volume.spacing_zyx[0]
    assert gap_mm >= 15 or (first - max(tumour_k)) * volume.spacing_zyx[0] >= 15

    assert all(c.lesion is None for c in synthetic_cases(ct_dir, ("dicom/chest_lungdx_A0001_5mm",), 3, 0)), \
        "only when asked for"
    cases = list(synthetic_cases(ct_dir, ("dicom/chest_lungdx_A0001_5mm",), 4, 0, lesion_free_parts=True))
    assert cases[0].lesion is None and cases[0].volume.shape[0] == 64  # the real tumour, asked once
    assert "abnormality" not in {qa.kind for qa in cases[0].qas}
    assert cases[2].lesion is not None and cases[2].volume.shape[0] == stop - first
    assert [qa.answer for qa in cases[2].qas if qa.kind == "abnormality"][0].endswith("yes")
    assert [qa.answer for qa in cases[3].qas if qa.kind == "abnormality"][0].endswith("no")


def test_training_crops_vary_the_field_of_view_but_not_the_answers(ct_dir):
    whole = list(synthetic_cases(ct_dir, TRAIN_SCANS, 4, 0))
    cropped = list(synthetic_cases(ct_dir, TRAIN_SCANS, 4, 0, crops=True))
    assert [[qa.answer for qa in c.qas] for c in whole] == [[qa.answer for qa in c.qas] for c in cropped]
    assert whole[0].volume.shape == cropped[0].volume.shape, "A0001's real-lesion case keeps its whole scan"
    assert any(a.volume.shape != b.volume.shape for a, b in zip(whole[1:], cropped[1:]))
    for c in cropped:
        if c.lesion is not None:
            assert 0 <= c.lesion.slices[0] <= c.lesion.slices[1] < c.volume.shape[0]


def test_evaluate_scores_every_question_type(ct_dir):
    cases = list(synthetic_cases(ct_dir, (HEART,), 1, EVAL_SEED_BASE))
    session = ChatSession(load_bundle("default"), n_ctx=1024)
    result = evaluate(session, cases, max_tokens=6, bertscore=False)
    session.close()
    assert result["n_cases"] == 1
    assert set(result["closed_accuracy"]) >= {"macro", "micro", "plane", "location", "disease", "abnormality"}
    assert all(0.0 <= v <= 1.0 for v in result["closed_accuracy"].values())
    assert result["yes_no"]["n"] == 1
    # the one location answer's side and third: both right when its letter is right
    assert result["location_side"] in (0.0, 1.0) and result["location_third"] in (0.0, 1.0)
    if result["closed_accuracy"]["location"] == 1.0:
        assert result["location_side"] == result["location_third"] == 1.0
    assert result["location_open_n"] == 1  # the open form: its side and third read from its words
    assert result["location_open_side"] in (0.0, 1.0) and result["location_open_third"] in (0.0, 1.0)
    assert result["phase_open_n"] == 1 and result["phase_open"] in (0.0, 1.0)
    assert set(result["text"]) == {"bleu1", "rouge1", "meteor"}
    lesion = cases[0].lesion
    assert result["tgis_uniform_mass"] == pytest.approx((lesion.slices[1] - lesion.slices[0] + 1) / cases[0].volume.shape[0])
    assert 0.0 <= result["tgis_lesion_mass"] <= 1.0


class ScriptedSession:
    """Answers each case's questions through ``reply(qa)``: the metrics checked without a model."""

    def __init__(self, cases, reply):
        self.cases = iter(cases)  # evaluate() loads them in order (lesion-free ones share a volume)
        self.reply = reply

    def load_scan(self, volume):
        self.case = next(self.cases)
        assert volume is self.case.volume

    def ask(self, question, max_tokens=40):
        qa = next(qa for qa in self.case.qas if qa.question == question)
        n = self.case.volume.shape[0]
        return Answer(question, self.reply(qa), np.full(n, 1 / n), np.full(n, 1 / n), [0],
                      yes_probability=float(qa.answer == "yes"))


def test_location_without_a_lesion_and_size_are_scored(ct_dir):
    cases = list(synthetic_cases(ct_dir, (HEART,), 4, EVAL_SEED_BASE))
    lesions = [c.lesion for c in cases if c.lesion is not None]

    truthful = evaluate(ScriptedSession(cases, lambda qa: qa.answer), cases, bertscore=False)
    assert truthful["closed_accuracy"]["macro"] == 1.0 and truthful["location_open_third"] == 1.0
    assert truthful["location_absent_n"] == 2 and truthful["location_absent_no_place"] == 1.0
    assert truthful["location_open_no_place"] == 0.0
    assert truthful["size_n"] == 2 and truthful["size_within_tolerance"] == 1.0
    assert truthful["size_median_error_mm"] <= 0.5  # the answer rounds to whole millimetres

    def always_a_place(qa):  # names a place wherever it is asked, and every size as 3 cm
        if qa.kind == "location" and qa.task == "open":
            return "right upper lung zone"
        return "3 cm" if qa.kind == "size" else qa.answer
    placing = evaluate(ScriptedSession(cases, always_a_place), cases, bertscore=False)
    assert placing["location_absent_no_place"] == 0.0 and placing["location_open_no_place"] == 0.0
    errors = [abs(30.0 - lesion.diameter_mm) for lesion in lesions]
    assert placing["size_median_error_mm"] == pytest.approx(np.median(errors))
    assert placing["size_within_tolerance"] == np.mean([e <= SIZE_TOLERANCE_MM for e in errors])

    def never_a_place(qa):  # says there is none wherever the location is asked openly
        return NO_LESION if qa.kind == "location" and qa.task == "open" else qa.answer
    denying = evaluate(ScriptedSession(cases, never_a_place), cases, bertscore=False)
    assert denying["location_absent_no_place"] == 1.0 and denying["location_open_no_place"] == 1.0
    assert denying["location_open_side"] == 0.0

    unsized = evaluate(ScriptedSession(cases, lambda qa: "small" if qa.kind == "size" else qa.answer),
                       cases, bertscore=False)
    assert unsized["size_within_tolerance"] == 0.0 and np.isnan(unsized["size_median_error_mm"])


def test_ctchat_eval_prints_the_bundle_and_both_baselines(capsys):
    assert main(["eval", "--cases", "1", "--no-bertscore", "--max-tokens", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out["results"]) == ["bundle", "zeroed image", "untrained perceiver"]
    assert out["scans"] == "held-out" and out["scan_paths"] == list(EVAL_SCANS)
    assert out["random_fields_of_view"] is True  # lesion-free cases are not one image asked again
    assert out["bundle"]["trained"] is True
