"""Two visits' scans (no shared frame of reference) lined up by their anatomy: the A0001 chest
written again as a second visit, its coordinates moved by a known shift, fewer and thicker
slices over an off-centre range; the match finds the shift where aligning the centres does not.
Scans that do not cover the same anatomy are not matched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from prior_series import write_prior_series

from inference.io import load_volume
from viewer.models.anatomy_alignment import match_anatomy, profile
from viewer.models.prior_link import ANATOMY, CENTRES, Alignment, PriorLink, centre_lps, initial_alignment

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ct"
A0001 = DATA / "dicom" / "chest_lungdx_A0001_5mm"
SHIFT = (12.0, -7.5, 137.0)  # the second visit's coordinates of the same anatomy, LPS mm


@pytest.fixture(scope="module")
def visits(tmp_path_factory):
    if not A0001.is_dir():
        pytest.skip("the A0001 series is not here")
    root = tmp_path_factory.mktemp("visits")
    # slices 0..39 every other one: the lower two thirds of the chest at 10 mm, in another frame
    second = write_prior_series(A0001, root / "second", start=0, stop=40, step=2, frame_uid="1.2.826.0.1.99.1",
                                shift_mm=SHIFT)
    cropped = write_prior_series(A0001, root / "cropped", start=0, stop=40, step=2, frame_uid="1.2.826.0.1.99.2",
                                 shift_mm=SHIFT, crop=(60, 40, 400, 430))
    return load_volume(A0001), load_volume(second), load_volume(cropped)


def test_the_shift_between_two_visits_is_found(visits):
    current, second, _ = visits
    match = match_anatomy(current, second)
    assert match is not None and match.correlation > 0.95
    assert match.offset_mm[2] == pytest.approx(SHIFT[2], abs=2.5)  # within half the 5 mm slices
    assert np.allclose(match.offset_mm[:2], SHIFT[:2], atol=1.0)  # the lungs' centroids over the same slices
    centres = centre_lps(second) - centre_lps(current)
    assert abs(centres[2] - SHIFT[2]) > 40.0  # the centres are 50 mm off: the range is not centred
    alignment = initial_alignment(current, second)
    assert alignment.how == ANATOMY and "anatomy" in alignment.words() and "profiles r = " in alignment.words()
    link = PriorLink(current.affine, current.shape, second.affine, second.shape, alignment)
    k = 20  # a slice the second visit holds: the link shows the same anatomy
    (kp, jp, ip), inside = link.prior_index((k, 256, 256))
    assert inside and abs(second.index_to_world(kp, jp, ip)[2] - SHIFT[2] - current.index_to_world(k, 256, 256)[2]) <= 5.0


def test_a_cropped_field_of_view_still_finds_the_head_foot_shift(visits):
    current, _, cropped = visits
    match = match_anatomy(current, cropped)
    assert match is not None and match.offset_mm[2] == pytest.approx(SHIFT[2], abs=2.5)


def test_scans_of_other_anatomy_fall_back_to_the_centres(visits):
    current, second, _ = visits
    abdomen = load_volume(DATA / "nifti" / "abdomen_pelvis_totalseg_example_ct_3mm.nii.gz")
    assert match_anatomy(current, abdomen) is None
    assert initial_alignment(current, abdomen).how == CENTRES
    flat = load_volume(A0001)
    flat.voxels[:] = -1000  # nothing to match: no body, no lungs
    assert match_anatomy(flat, second) is None
    single = load_volume(DATA / "tiny" / "pydicom_CT_small.dcm")
    assert profile(single) is None  # one slice has no head-foot profile


def test_swapped_alignment_keeps_how_it_was_found():
    a = Alignment((1.0, 2.0, 3.0), ANATOMY, 0.97)
    assert "r = 0.97" in a.words() and a.short()[0] == "aligned by anatomy: check"
