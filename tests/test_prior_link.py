"""The prior's link to the current scan (viewer.models.prior_link), on two series of the real A0001
chest: one frame of reference (a 10 mm series cut from the 5 mm one, cropped in-plane), and the
same scan as a NIfTI file (no frame of reference) or with another frame (another visit)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from prior_series import header_z, write_prior_series

from inference.io import load_volume
from viewer.models.prior_link import (
    ANATOMY,
    CENTRES,
    FRAME,
    READER,
    Alignment,
    PriorLink,
    centre_lps,
    frame_of_reference,
    initial_alignment,
    offset_words,
    parse_offset,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ct"
A0001 = DATA / "dicom" / "chest_lungdx_A0001_5mm"
A0001_NIFTI = DATA / "nifti" / "chest_lungdx_A0001_5mm_dcm2niix.nii.gz"
CROP = (100, 120, 300, 280)  # rows from 100, columns from 120, 300 x 280 pixels


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    if not A0001.is_dir():
        pytest.skip("the A0001 series is not here")
    folder = write_prior_series(A0001, tmp_path_factory.mktemp("prior") / "a0001_10mm", crop=CROP)
    return load_volume(A0001), load_volume(folder), folder


def test_one_frame_of_reference_links_by_patient_position(scans):
    current, prior, folder = scans
    assert frame_of_reference(current) and frame_of_reference(current) == frame_of_reference(prior)
    link = PriorLink.between(current, prior)
    assert link.alignment == Alignment((0.0, 0.0, 0.0), FRAME)
    z_prior = header_z(folder)  # from the files' headers, not from our loader
    for k in range(current.shape[0]):
        z = current.index_to_world(k, 200, 200)[2]
        (kp, jp, ip), inside = link.prior_index((k, 200, 200))
        shown = prior.index_to_world(kp, jp, ip)
        assert np.min(np.abs(z_prior - shown[2])) < 1e-3  # a prior slice, by the files' headers,
        assert abs(shown[2] - z) == pytest.approx(np.min(np.abs(z_prior - z)), abs=1e-3)  # the nearest (or a tie)
        assert inside == (z_prior.min() - 5.0 <= z <= z_prior.max() + 5.0)
        if inside:
            assert abs(shown[2] - z) <= 5.0 + 1e-6  # within half the prior's 10 mm spacing
            assert (jp, ip) == (200 - CROP[0], 200 - CROP[1])  # the crop moved the in-plane grid
            assert np.allclose(shown[:2], current.index_to_world(k, 200, 200)[:2], atol=1e-3)
        else:
            gap = min(abs(z - z_prior.min()), abs(z - z_prior.max())) - 5.0
            assert link.beyond_mm((k, 200, 200)) == pytest.approx(gap, abs=1e-3)


def test_back_from_the_prior_lands_on_the_same_place(scans):
    current, prior, _ = scans
    link = PriorLink.between(current, prior)
    for kp in range(prior.shape[0]):
        k, j, i = link.current_index((kp, 50, 60))
        assert np.allclose(current.index_to_world(k, j, i), prior.index_to_world(kp, 50, 60), atol=1e-3)
        assert link.prior_index((k, j, i)) == ((kp, 50, 60), True)


def test_without_one_frame_the_anatomy_or_the_centres_align_and_the_reader_links(scans):
    current, prior, _ = scans
    nifti = load_volume(A0001_NIFTI)  # the same chest, no frame of reference in a NIfTI file
    assert frame_of_reference(nifti) == ""
    start = initial_alignment(nifti, prior)  # the same anatomy at the same coordinates: no offset found
    assert start.how == ANATOMY and start.offset_mm[2] == 0.0
    assert np.allclose(start.offset_mm[:2], 0.0, atol=2.5)  # the crop cuts the lungs: in-plane, a few mm
    centre_n = nifti.affine @ np.array([*(np.array(nifti.shape[::-1]) - 1) / 2.0, 1.0])
    centre_p = prior.affine @ np.array([*(np.array(prior.shape[::-1]) - 1) / 2.0, 1.0])
    centres = Alignment(tuple((centre_p - centre_n)[:3]), CENTRES)  # where no anatomy matches
    assert np.allclose(centre_lps(prior) - centre_lps(nifti), centres.offset_mm) and "centres" in centres.words()
    link = PriorLink(nifti.affine, nifti.shape, prior.affine, prior.shape, centres)
    # The reader scrolls each to the same anatomy and links there: the true offset is none.
    k = 30
    z = nifti.index_to_world(k, 256, 256)[2]
    kp = int(np.argmin([abs(prior.index_to_world(n, 0, 0)[2] - z) for n in range(prior.shape[0])]))
    link.link_at((k, 256, 256), (kp, 256 - CROP[0], 256 - CROP[1]))
    assert link.alignment.how == READER and np.allclose(link.alignment.offset_mm, 0.0, atol=1e-3)
    assert link.prior_index((k, 256, 256)) == ((kp, 256 - CROP[0], 256 - CROP[1]), True)
    other = load_volume(A0001)
    other.metadata["frame_of_reference_uid"] = "1.2.3.another.visit"
    assert initial_alignment(other, prior).how == ANATOMY  # two frames: coordinates are not anatomy


def test_an_offset_in_mm_moves_the_prior_slice(scans):
    current, prior, _ = scans
    link = PriorLink.between(current, prior)
    k = 30
    before = prior.index_to_world(*link.prior_index((k, 200, 200))[0])[2]
    link.set_alignment(Alignment(parse_offset("20"), READER))  # the prior 20 mm superior
    after = prior.index_to_world(*link.prior_index((k, 200, 200))[0])[2]
    assert after - before == pytest.approx(20.0, abs=1e-3)


def test_offset_text_and_words():
    assert parse_offset("12.5") == (0.0, 0.0, 12.5)
    assert parse_offset("1, -2,3") == (1.0, -2.0, 3.0)
    for bad in ("", "a", "1,2", "1,2,3,4", "nan,0,0"):
        with pytest.raises(ValueError, match=r"^[^\n]+$"):
            parse_offset(bad)
    assert offset_words((0.0, 0.0, 0.0)) == "no offset"
    assert offset_words((3.0, 0.0, -12.5)) == "prior 12.5 mm inferior, 3.0 mm left"
    assert Alignment((0.0, 0.0, 0.0), FRAME).short() == ["linked by frame of reference"]
    assert Alignment((3.0, 0.0, -12.5), READER).short() == ["linked by you", "prior I 12.5 L 3.0 mm"]
