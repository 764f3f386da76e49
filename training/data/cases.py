"""The synthetic cases of the real scans: what is known of each scan, which scans train and
which are held out, and the cases (scan, lesion or none, questions) drawn from a seed.

Held out: the evaluation scans are never used in training (:data:`TRAIN_SCANS` vs
:data:`EVAL_SCANS`), and insertions come from a seed range training never draws from. The data
has one lung without a known lesion, so the held-out scan for lesion questions is another crop
of the training patient's CT angiogram (see :data:`SCAN_FACTS`); A0002 is a new patient, with
its documented real mass asked about once (``real_lesion``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from inference.io import load_volume
from inference.io.volume import Volume
from inference.question import Question
from training.data.synthetic import (
    LESION_KINDS,
    PRESENCE_KINDS,
    PRESENCE_QUESTION,
    QA,
    Lesion,
    analyse_anatomy,
    insert_lesion,
    questions_for,
    random_crop,
)


@dataclass(frozen=True)
class ScanFacts:
    """What is known of a real scan beyond its pixels, and where that comes from."""

    phase: str | None  # "non-contrast", "contrast-enhanced", or None when not recorded
    known_lung_lesion: bool  # a real nodule or mass: its cases carry no lesion questions
    source: str
    real_lesion: str = ""  # a lung lesion the source documents: asked about once per scan
    # slices [first, stop) clear of the documented lesion: with ``lesion_free_parts``, lesion
    # questions are asked of this part (with inserted lesions), the real lesion of the whole once
    lesion_free_slices: tuple[int, int] | None = None


# From the data's provenance (../shared/data/ct/README.md) and the DICOM headers. The lung-cancer
# scans have real tumours that no ground truth here describes, so questions about nodules and
# masses are asked only of the scans without a known lung lesion; they still teach and test
# plane, phase and organ.
SCAN_FACTS = {
    # the dataset's boxes mark the tumour on instances 13-23, slices k = 41..51 here (k = 64 -
    # instance; the test reads the annotation files): slices 0..37, the lower and middle lungs
    # 15 mm and more below it, are a second patient's lungs for synthetic lesions
    "dicom/chest_lungdx_A0001_5mm": ScanFacts(
        "non-contrast", True, "Lung-PET-CT-Dx A0001, adenocarcinoma; protocol 'Chest C-'", "adenocarcinoma",
        lesion_free_slices=(0, 38)),
    "nifti/chest_cta_aorta_crop_totalseg_1p5mm.nii.gz": ScanFacts(
        "contrast-enhanced", False, "TotalSegmentator example, CT angiogram of the aortic arch and heart"),
    "dicom/chest_lungdx_A0002_8mm": ScanFacts(
        None, True, "Lung-PET-CT-Dx A0002; contrast not recorded", "right perihilar mass"),
    # the same CT angiogram as the aorta crop (same patient, same x-y origin; 112 of its slices
    # lie inside the aorta crop's), cropped around the heart: lesion questions are evaluated
    # on new lesions in a new field of view of the training patient, not on a new patient
    "nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz": ScanFacts(
        "contrast-enhanced", False, "TotalSegmentator example, the aorta crop's CT angiogram cropped around the heart"),
}
UNKNOWN_SCAN = ScanFacts(None, True, "not described")  # nothing is assumed of other scans
TRAIN_SCANS = ("dicom/chest_lungdx_A0001_5mm", "nifti/chest_cta_aorta_crop_totalseg_1p5mm.nii.gz")
EVAL_SCANS = ("dicom/chest_lungdx_A0002_8mm", "nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz")
EVAL_SEED_BASE = 1_000_000  # training draws seeds below this
QUESTION_KINDS = ("plane", "phase", "organ", *LESION_KINDS, "real_lesion")


@dataclass
class Case:
    """One evaluation scan (with or without an inserted lesion) and its questions."""

    volume: Volume
    lesion: Lesion | None
    qas: list[QA]

    @property
    def lesion_known(self) -> bool:
        """Whether it is known if a lesion is there: the case is asked about one (not a scan
        with a real lesion that no ground truth here locates)."""
        return any(qa.kind in PRESENCE_KINDS for qa in self.qas)


class ScanCases:
    """The synthetic cases of one scan, any seed: the scan is loaded and its lungs found once.

    Scans without a known lung lesion (and, with ``lesion_free_parts``, the lesion-free part of
    the others: :attr:`ScanFacts.lesion_free_slices`) alternate positive (an inserted lesion) and
    negative cases with every question type; other scans give their unmodified volume with the
    questions that do not concern lesions (:data:`SCAN_FACTS`).

    Example:
        >>> source = ScanCases(shared_ct_dir(), TRAIN_SCANS[1])   # doctest: +SKIP
        >>> source.case(0, seed=0, crops=True).lesion is not None  # doctest: +SKIP
        True
    """

    def __init__(self, ct_dir: Path, rel: str, lesion_free_parts: bool = False) -> None:
        self.facts = SCAN_FACTS.get(rel, UNKNOWN_SCAN)
        self.whole = load_volume(ct_dir / rel)
        self.part = self.whole
        free = self.facts.lesion_free_slices if lesion_free_parts else None
        if free is not None:
            self.part = self.whole.cropped((free[0], 0, 0), (free[1], *self.whole.shape[1:]))
        self.about_lesions = not self.facts.known_lung_lesion or free is not None
        self.anatomy = analyse_anatomy(self.part) if self.about_lesions else None

    def case(self, n: int, seed: int, crops: bool = False) -> Case:
        """Case number ``n`` (even: a lesion where lesions are asked about; 0: the scan's real
        lesion, if it has one), drawn from ``seed``; ``crops`` gives it a random field of view
        of its scan (:func:`random_crop`, for training)."""
        facts, anatomy = self.facts, self.anatomy
        ask_real = bool(facts.real_lesion) and n == 0  # the same answer in every case: ask once
        base = self.whole if ask_real else self.part
        positive = self.about_lesions and not ask_real and n % 2 == 0
        volume, lesion = insert_lesion(base, seed, anatomy) if positive else (base, None)
        if crops and not ask_real:  # (a crop could leave the real lesion out)
            volume, lesion = random_crop(volume, lesion, np.random.default_rng([seed, 1]),
                                         lungs=None if anatomy is None else anatomy.mask)
        qas = questions_for(volume, lesion, np.random.default_rng(seed), facts.phase,
                            about_lesions=self.about_lesions and not ask_real)
        if ask_real:
            qas.append(QA("real_lesion", Question("open", PRESENCE_QUESTION), "yes"))
        return Case(volume, lesion, qas)


def synthetic_cases(ct_dir: Path, scans: tuple[str, ...], per_scan: int, seed_base: int,
                    crops: bool = False, lesion_free_parts: bool = False) -> Iterator[Case]:
    """``per_scan`` cases of each scan (:meth:`ScanCases.case` ``n`` from seed ``seed_base + n``)."""
    for rel in scans:
        source = ScanCases(ct_dir, rel, lesion_free_parts)
        for n in range(per_scan):
            yield source.case(n, seed_base + n, crops)
