"""The maths under oblique measurements and letters, without Qt: the letters each edge of a turned
slice view shows (:mod:`viewer.models.oblique_letters`) and the turned plane sampled from the
voxels for an ROI (:func:`viewer.models.oblique.turned_plane_patch`)."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.models.oblique import PLAIN_FRAME, axis_rotation, parse_oblique, sample_linear, turned_plane_patch
from viewer.models.oblique_letters import direction_letters, edge_letters_for, turned_edge_letters
from viewer.models.planes import AXIAL, CORONAL, SAGITTAL

SPACING = np.array([0.8, 0.8, 2.0])
LPS_AFFINE = np.diag([*SPACING, 1.0])  # i -> L, j -> P, k -> S
FLIPPED_AFFINE = np.array([[-0.8, 0, 0, 120.0], [0, 0.8, 0, -50.0], [0, 0, 2.0, -300.0], [0, 0, 0, 1]])  # i -> R


def test_direction_letters_name_the_largest_share_first():
    assert direction_letters((0, 0, -1)) == "I"
    assert direction_letters((0.87, -0.5, 0)) == "LA"
    assert direction_letters((-0.5, 0.87, 0)) == "PR"
    assert direction_letters((3.0, 0.2, 0.0)) == "L"  # a small share (about 4 degrees) adds no letter
    assert direction_letters((0.6, -0.6, 0.53)) == "LAS"
    with pytest.raises(ValueError, match=r"^[^\n]+$"):
        direction_letters((0, 0, 0))


@pytest.mark.parametrize("plane", [AXIAL, CORONAL, SAGITTAL])
@pytest.mark.parametrize("affine, codes", [(LPS_AFFINE, "LPS"), (FLIPPED_AFFINE, "RPS")])
def test_no_turn_gives_the_plain_letters(plane, affine, codes):
    assert turned_edge_letters(plane, np.eye(3), affine, SPACING) == plane.edge_letters(codes)
    assert edge_letters_for(plane, PLAIN_FRAME, codes, affine, SPACING) == plane.edge_letters(codes)


def test_letters_of_an_axial_turn():
    # axis_rotation(2, 90) takes screen right (+x, +i) to +j and screen up (-y) to +i
    turned = turned_edge_letters(AXIAL, axis_rotation(2, 90), FLIPPED_AFFINE, SPACING)
    assert turned == {"right": "P", "left": "A", "top": "R", "bottom": "L"}
    assert turned_edge_letters(SAGITTAL, axis_rotation(2, 90), FLIPPED_AFFINE, SPACING)["right"] == "L"
    # 30 degrees: right points mostly to the patient's right (i flipped), partly posterior
    frame = parse_oblique("axial:30")
    turned = edge_letters_for(AXIAL, frame, "RPS", FLIPPED_AFFINE, SPACING)
    assert turned == {"right": "RP", "left": "LA", "top": "AR", "bottom": "PL"}
    assert edge_letters_for(SAGITTAL, frame, "RPS", FLIPPED_AFFINE, SPACING) == {
        "right": "PL", "left": "AR", "top": "S", "bottom": "I"}  # the turn is about S: up stays S


def test_letters_follow_the_affine_not_only_the_voxel_grid():
    # A scan tilted 20 degrees about L (a gantry tilt): a turned sagittal view's top points S and P.
    tilt = np.radians(20)
    affine = np.eye(4)
    affine[:3, :3] = np.array([[0.8, 0, 0], [0, 0.8, 2 * np.sin(tilt)], [0, 0, 2 * np.cos(tilt)]])
    assert edge_letters_for(SAGITTAL, parse_oblique("axial:30"), "LPS", affine, SPACING)["top"] == "SP"
    assert edge_letters_for(SAGITTAL, PLAIN_FRAME, "LPS", affine, SPACING)["top"] == "S"  # plain: the file's codes


def ramp_volume() -> np.ndarray:
    """voxels[k, j, i] = 3 i - 2 j + 5 k: linear, so trilinear sampling is exact."""
    k, j, i = np.meshgrid(np.arange(6), np.arange(7), np.arange(8), indexing="ij")
    return (3 * i - 2 * j + 5 * k).astype(np.int16)


def test_linear_sampling_is_exact_on_a_ramp_and_dark_outside():
    vol = ramp_volume()
    points = np.array([[2.5, 3.25, 1.5], [7.0, 6.0, 5.0], [0.0, 0.0, 0.0], [6.9, 0.1, 4.99]])
    expected = 3 * points[:, 0] - 2 * points[:, 1] + 5 * points[:, 2]
    assert np.allclose(sample_linear(vol, points), expected)
    outside = sample_linear(vol, np.array([[8.5, 1.0, 1.0], [1.0, -0.6, 1.0]]))
    assert np.all(outside == vol.min())  # the reslice's background: the scan's darkest value


def test_a_plain_patch_is_the_plain_slice():
    vol = ramp_volume()
    centre_mm = np.array([4, 3, 2]) * SPACING
    patch = turned_plane_patch(vol, SPACING, np.eye(3), centre_mm, (1, 0), (2, 3))  # axial rows j, columns i
    assert patch.shape == (5, 7)
    assert np.allclose(patch, vol[2, 1:6, 1:8])


def test_a_turned_patch_samples_along_the_turned_axes():
    vol = ramp_volume()
    rotation = axis_rotation(2, 30)
    centre_mm = np.array([4, 3, 2]) * SPACING
    patch = turned_plane_patch(vol, SPACING, rotation, centre_mm, (2, 1), (1, 2))  # sagittal rows k, columns j
    r, c = 2, 3  # one pixel up (+k) and one along the turned j axis from the centre pixel (1, 2)
    point_ijk = (centre_mm + rotation @ np.array([0.0, 0.8, 2.0])) / SPACING
    assert patch[r, c] == pytest.approx(3 * point_ijk[0] - 2 * point_ijk[1] + 5 * point_ijk[2])
    assert patch[1, 2] == pytest.approx(3 * 4 - 2 * 3 + 5 * 2)  # the centre pixel is the centre point
