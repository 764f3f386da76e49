"""The evaluation metrics: known values, the papers' rules, and offline BERTScore."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation import metrics as M


def test_text_metrics_known_values():
    assert M.bleu1("the lungs are clear", "the lungs are clear") == pytest.approx(1.0)
    assert M.rouge1("the lung is clear", "the lungs are clear") == pytest.approx(0.75)  # stemmed: the, lung, clear
    assert 0.0 < M.meteor("the lung is clear", "the lungs are clear") < M.meteor("the lungs are clear", "the lungs are clear")
    assert M.bleu1("", "the lungs are clear") == 0.0
    partial = M.bleu1("a nodule in the right lung", "a nodule in the left lung")
    assert 0.5 < partial < 1.0


def test_bertscore_runs_offline_and_ranks_meaning():
    same, close, far = M.bertscore_f1(
        ["A 21 mm nodule in the left middle zone.", "A 21 mm nodule in the left middle zone.", "The lungs are clear."],
        ["A 21 mm nodule in the left middle zone.", "A 20 mm nodule in the left mid zone.", "A 21 mm nodule in the left middle zone."],
    )
    assert same == pytest.approx(1.0, abs=1e-4)
    assert far < close < same


def test_closed_question_rule():
    assert M.closed_correct("B. axial", "B")
    assert M.closed_correct("The answer is C. sagittal", "c")
    assert not M.closed_correct("B axial", "B")
    assert not M.closed_correct("A. coronal", "B")
    # echoing the choice list names every letter: ambiguous, so wrong
    assert not M.closed_correct("A. coronal B. axial C. sagittal\nAnswer: B. axial", "B")
    assert M.closed_correct("B. axial, as in the axial plane.", "B")
    # a bundle whose answers end with the letter ("letter_last")
    assert M.closed_correct("axial (B)", "B") and not M.closed_correct("axial (A)", "B")
    assert not M.closed_correct("coronal (A) axial (B)", "B")


def test_chosen_option_is_the_one_letter_the_answer_names():
    choices = ["right upper", "left lower", "left middle", "right lower"]
    assert M.chosen_option("B. left lower", choices) == "left lower"
    assert M.chosen_option("It is D. right lower.", choices) == "right lower"
    assert M.chosen_option("A. right upper B. left lower", choices) is None  # two letters: none
    assert M.chosen_option("left lower", choices) is None
    assert M.chosen_option("E. nowhere", choices) is None  # a letter with no option
    assert M.chosen_option("left lower (B)", choices) == "left lower"


def test_yes_no_parsing_and_binary_scores():
    assert M.parse_yes_no("Yes, there is a nodule.") is True
    assert M.parse_yes_no("no") is False
    assert M.parse_yes_no("Maybe.") is None
    # 4 positives (3 found), 4 negatives (2 correct, 1 false alarm, 1 unparsable)
    pred = [True, True, True, False, False, False, True, None]
    true = [True, True, True, True, False, False, False, False]
    s = M.binary_scores(pred, true)
    assert s.recall == pytest.approx(0.75)
    assert s.precision == pytest.approx(0.75)
    assert s.balanced_accuracy == pytest.approx((0.75 + 0.5) / 2)
    assert s.f1 == pytest.approx(0.75)
    assert s.accuracy == pytest.approx(5 / 8)


def test_always_yes_has_chance_balanced_accuracy():
    s = M.binary_scores([True] * 10, [True] * 2 + [False] * 8)
    assert s.balanced_accuracy == pytest.approx(0.5) and s.accuracy == pytest.approx(0.2)


def test_macro_and_micro_averages():
    avg = M.macro_micro({"plane": [1, 1, 1, 1], "size": [0, 0], "empty": []})
    assert avg["macro"] == pytest.approx(0.5)
    assert avg["micro"] == pytest.approx(4 / 6)


def test_lesion_score_mass_against_uniform():
    scores = np.zeros(40)
    scores[10:13] = [0.2, 0.5, 0.2]
    scores[30] = 0.1
    mass, uniform = M.lesion_score_mass(scores, (10, 12))
    assert mass == pytest.approx(0.9) and uniform == pytest.approx(3 / 40)


def test_roc_auc_counts_ordered_pairs():
    assert M.roc_auc([0.9, 0.2, 0.6, 0.6], [True, False, True, False]) == pytest.approx(0.875)
    assert M.roc_auc([0.1, 0.9], [True, False]) == 0.0
    assert M.roc_auc([0.5] * 4, [True, False] * 2) == pytest.approx(0.5), "a constant score is chance"
    assert np.isnan(M.roc_auc([0.3, 0.4], [True, True]))
    with pytest.raises(ValueError):
        M.roc_auc([0.3], [True, False])


def test_named_place_is_the_first_side_and_third_an_answer_names():
    assert M.named_place("A nodule in the left upper lung zone.") == ("left", "upper")
    assert M.named_place("Right lower lobe; the left lung is clear.") == ("right", "lower")
    assert M.named_place("in the middle") == (None, "middle")
    assert M.named_place("") == (None, None)


def test_named_phase_tells_non_contrast_from_contrast_enhanced():
    assert M.named_phase("non-contrast") == M.named_phase("Without IV contrast.") == "non-contrast"
    assert M.named_phase("Contrast-enhanced CT") == M.named_phase("enhanced") == "contrast-enhanced"
    assert M.named_phase("axial") is None and M.named_phase("") is None


def test_same_place_compares_side_and_third_apart_for_both_answer_forms():
    assert M.same_place("left upper lung zone", "left upper lung zone") == (True, True)
    assert M.same_place("right upper", "C. left upper") == (False, True)  # a chosen option vs a choice answer
    assert M.same_place("", "B. right lower") == (False, False)  # no option chosen: neither
