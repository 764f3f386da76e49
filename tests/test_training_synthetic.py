"""Synthetic lesions in the real A0001 chest, and questions answered from their ground truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inference.io import load_volume
from inference.question import Question
from training.data.synthetic import (
    DIAMETER_MM,
    MASS_MM,
    NO_LESION,
    analyse_anatomy,
    insert_lesion,
    location_question,
    lung_mask,
    questions_for,
)


@pytest.fixture(scope="module")
def anatomy(a0001_volume):
    return analyse_anatomy(a0001_volume)


def test_lung_mask_is_the_two_lungs(a0001_volume, anatomy):
    mask = anatomy.mask
    assert 0.03 < mask.mean() < 0.3
    assert np.all(a0001_volume.voxels[mask] < -400)
    cols = np.flatnonzero(mask.any(axis=(0, 1)))
    mid = a0001_volume.shape[2] // 2
    assert cols.min() < mid - 50 and cols.max() > mid + 50, "both lungs, either side of the midline"
    outside = np.zeros_like(mask)
    outside[:, :5, :] = True
    assert not (mask & outside).any(), "air outside the body is not lung"


def test_insertion_is_deterministic_and_local(a0001_volume, anatomy):
    a, lesion = insert_lesion(a0001_volume, seed=7, anatomy=anatomy)
    b, same = insert_lesion(a0001_volume, seed=7, anatomy=anatomy)
    c, other = insert_lesion(a0001_volume, seed=8, anatomy=anatomy)
    assert lesion == same and np.array_equal(a.voxels, b.voxels)
    assert other != lesion
    changed = np.argwhere(a.voxels != a0001_volume.voxels)
    reach_mm = lesion.diameter_mm / 2 + 2.0
    offsets_mm = (changed - np.array(lesion.center_kji)) * np.array(a0001_volume.spacing_zyx)
    assert np.all(np.linalg.norm(offsets_mm, axis=1) <= reach_mm + 1e-6), "only the lesion's voxels change"
    assert a0001_volume.voxels[lesion.center_kji] < -400, "the original scan is untouched"


def test_lesions_fall_in_each_third_of_the_lungs_alike(ct_dir):
    """Most of a chest crop's lung volume lies high: a lesion at a uniform lung voxel would be
    "upper" most of the time; the thirds are drawn alike instead."""
    heart = load_volume(ct_dir / "nifti" / "chest_cta_heart_crop_totalseg_1p5mm.nii.gz")
    anatomy = analyse_anatomy(heart)
    ks = np.flatnonzero(anatomy.mask.any(axis=(1, 2)))
    fraction = (np.argwhere(anatomy.depth_mm >= DIAMETER_MM[0] / 2)[:, 0] - ks.min()) / (ks.max() - ks.min())
    assert (fraction >= 2 / 3).mean() > 0.5, "the scan this guards against: most deep lung is upper"
    zones = [insert_lesion(heart, seed, anatomy)[1].zone for seed in range(30)]
    assert all(zones.count(z) >= 5 for z in ("upper", "middle", "lower")), zones


def test_lesion_has_its_declared_size_density_and_place(a0001_volume, anatomy):
    vol, lesion = insert_lesion(a0001_volume, seed=3, anatomy=anatomy)
    k, j, i = lesion.center_kji
    assert anatomy.mask[k, j, i]
    core = vol.voxels[k, j - 2 : j + 3, i - 2 : i + 3].astype(float)
    assert abs(core.mean() - lesion.hu) < 30  # 25 voxels of ~45 HU noise: mean within ~3 sigma
    dz = a0001_volume.spacing_zyx[0]
    first, last = lesion.slices
    assert first <= k <= last
    assert abs((last - first + 1) * dz - lesion.diameter_mm) <= 2 * dz
    # the side is the patient's: in LPS, patient right has the smaller x
    x = vol.index_to_world(k, j, i)[0]
    body = np.flatnonzero((vol.voxels[k] > -500).any(axis=0))
    x_mid = vol.index_to_world(k, j, (body.min() + body.max()) / 2)[0]
    assert lesion.side == ("right" if x < x_mid else "left")


def test_questions_are_answered_from_the_truth(a0001_volume, anatomy):
    vol, lesion = insert_lesion(a0001_volume, seed=5, anatomy=anatomy)
    qas = {(qa.kind, qa.task): qa for qa in questions_for(vol, lesion, np.random.default_rng(0), phase="non-contrast")}
    qas = {f"open {kind}" if task == "open" and kind in ("location", "phase") else kind: qa for (kind, task), qa in qas.items()}
    assert qas["abnormality"].answer == "yes" and qas["disease"].answer == "yes"
    assert qas["disease"].question == Question.yes_no("lung nodule")
    location = qas["location"]
    letter, text = location.answer.split(". ", 1)
    assert text == f"{lesion.side} {lesion.zone}" and location.question.choices["ABCD".index(letter)] == text
    assert qas["open location"].answer == f"{lesion.side} {lesion.zone} lung zone"  # asked both ways (M3D-VQA)
    assert qas["size"].answer == f"{lesion.diameter_mm:.0f} mm"
    assert f"{lesion.side} {lesion.zone}" in qas["findings"].answer
    assert qas["phase"].answer.endswith("non-contrast") and qas["open phase"].answer == "non-contrast"  # as given

    negative = {qa.kind: qa for qa in questions_for(a0001_volume, None, np.random.default_rng(0))}
    assert negative["abnormality"].answer == "no"
    # asked where a lesion is, a scan without one is answered with no place (openly only: the
    # multiple-choice options are all places)
    assert negative["location"].task == "open" and negative["location"].answer == NO_LESION
    assert negative["findings"].answer == NO_LESION
    assert "phase" not in negative  # no contrast agent recorded and no phase given: not asked


def test_the_location_question_does_not_tell_whether_a_lesion_is_there(a0001_volume):
    """Its noun ("nodule" or "mass") is drawn as often on lesion-free scans as lesion sizes give it."""
    nouns = [next(qa.question.text for qa in questions_for(a0001_volume, None, np.random.default_rng(seed))
                  if qa.kind == "location") for seed in range(200)]
    masses = nouns.count(location_question("mass")) / len(nouns)
    expected = (DIAMETER_MM[1] - MASS_MM) / (DIAMETER_MM[1] - DIAMETER_MM[0])  # 0.29
    assert nouns.count(location_question("nodule")) + nouns.count(location_question("mass")) == 200
    assert abs(masses - expected) < 0.1


def test_scans_with_real_lesions_get_no_lesion_questions(a0001_volume, anatomy):
    kinds = [qa.kind for qa in questions_for(a0001_volume, None, np.random.default_rng(0), "non-contrast",
                                             about_lesions=False)]
    assert kinds == ["plane", "phase", "phase", "organ"]  # the phase asked both ways
    vol, lesion = insert_lesion(a0001_volume, seed=5, anatomy=anatomy)
    with pytest.raises(ValueError, match="lesion was inserted"):
        questions_for(vol, lesion, np.random.default_rng(0), about_lesions=False)


def test_a_scan_without_lungs_is_refused(a0001_volume):
    soft = dataclasses.replace(a0001_volume, voxels=np.full((8, 64, 64), 40, np.int16),
                               slice_positions=np.arange(8) * 5.0)
    assert not lung_mask(soft).any()
    with pytest.raises(ValueError, match="no lung region"):
        insert_lesion(soft, seed=0)


def test_lungs_of_a_scan_cropped_to_the_chest(ct_dir):
    """The CTA crops have their lungs on the image border: the lungs are still found, the
    stomach's gas is not taken for them, and no lesion is placed in the trachea."""
    from inference.io import load_volume

    heart = load_volume(ct_dir / "nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz")
    mask = lung_mask(heart)
    assert mask.sum() * np.prod(heart.spacing_zyx) / 1000 > 800, "about a litre of lung in the crop"
    stomach_gas = heart.voxels[5, 28:42, 80:90]
    assert (stomach_gas < -400).mean() > 0.5 and not mask[5, 28:42, 80:90].any()

    aorta = load_volume(ct_dir / "nifti/chest_cta_aorta_crop_totalseg_1p5mm.nii.gz")
    anatomy = analyse_anatomy(aorta)
    trachea = (slice(146, 149), slice(63, 67), slice(41, 46))
    assert np.all(aorta.voxels[trachea] < -900) and anatomy.mask[trachea].all()
    assert anatomy.depth_mm[trachea].max() < DIAMETER_MM[0] / 2, "no lesion fits in the airway lumen"
    kinds = set()
    for seed in range(6):
        _, lesion = insert_lesion(aorta, seed, anatomy)
        kinds.add(lesion.kind)
        reach = lesion.diameter_mm / 2 / np.array(aorta.spacing_zyx)
        assert np.all(np.array(lesion.center_kji) - reach >= -1), "whole lesion in the field of view"
        assert np.all(np.array(lesion.center_kji) + reach <= np.array(aorta.shape))
    # depth is measured with the vessels filled: masses (>= 30 mm) fit, not only small nodules
    assert kinds == {"nodule", "mass"}


def test_random_crops_keep_the_lesion_and_the_geometry(a0001_volume, anatomy):
    from training.data.synthetic import random_crop

    vol, lesion = insert_lesion(a0001_volume, seed=5, anatomy=anatomy)
    sizes, zones = set(), set()
    for seed in range(8):
        part, moved = random_crop(vol, lesion, np.random.default_rng(seed))
        sizes.add(part.shape)
        assert all(0.5 * n <= c <= n for c, n in zip(part.shape, vol.shape))
        k, j, i = moved.center_kji
        assert part.voxels[k, j, i] == vol.voxels[lesion.center_kji]
        assert np.allclose(part.index_to_world(k, j, i), vol.index_to_world(*lesion.center_kji))
        assert moved.slices[1] - moved.slices[0] == lesion.slices[1] - lesion.slices[0]
        assert 0 <= moved.slices[0] and moved.slices[1] < part.shape[0]
        assert (moved.side, moved.zone, moved.diameter_mm) == (lesion.side, lesion.zone, lesion.diameter_mm)
        _, rezoned = random_crop(vol, lesion, np.random.default_rng(seed), lungs=anatomy.mask)
        assert rezoned.slices == moved.slices and rezoned.zone in ("upper", "middle", "lower")
        zones.add(rezoned.zone)
        assert np.array_equal(part.slice_positions, vol.slice_positions[lesion.slices[0] - moved.slices[0]:][:part.shape[0]])
    assert len(sizes) > 4, "the field of view varies"
    assert len(zones) > 1, "the zone is that of the lungs in view"
    empty, none = random_crop(a0001_volume, None, np.random.default_rng(0))
    assert none is None and empty.shape[0] >= 32
