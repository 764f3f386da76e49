"""The measurement maths (inference.measure): lengths through the affine, ROI statistics, the
slice position read-out and the scale bar's length."""

from __future__ import annotations

import numpy as np
import pytest

from inference.measure import (distance_mm, ellipse_mask, ellipse_stats, length_label, nice_length,
                               plane_image, slice_position_label)


def test_distance_uses_anisotropic_spacing():
    affine = np.diag([0.7, 0.8, 5.0, 1.0])
    assert distance_mm(affine, (0, 0, 0), (10, 0, 0)) == pytest.approx(7.0)
    assert distance_mm(affine, (0, 0, 0), (0, 0, 3)) == pytest.approx(15.0)
    assert distance_mm(affine, (1, 2, 3), (4, 6, 3)) == pytest.approx(np.hypot(3 * 0.7, 4 * 0.8))


def test_distance_follows_a_rotated_affine():
    c, s = np.cos(0.4), np.sin(0.4)
    affine = np.eye(4)
    affine[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag([0.5, 2.0, 3.0])
    affine[:3, 3] = (-100, 20, 7)
    a, b = np.array([3.0, 4.0, 1.0]), np.array([10.0, -2.0, 5.0])
    world = lambda p: (affine @ np.append(p, 1))[:3]  # noqa: E731
    assert distance_mm(affine, a, b) == pytest.approx(np.linalg.norm(world(b) - world(a)))


def test_slice_position_label_is_the_lps_coordinate():
    affine = np.diag([0.8, 0.8, 5.0, 1.0])
    affine[:3, 3] = (-200.0, -180.0, -350.0)
    assert slice_position_label(affine, (0, 0, 10), 2) == "S: -300.0 mm"
    assert slice_position_label(affine, (0, 100, 10), 1) == "P: -100.0 mm"
    assert slice_position_label(affine, (250, 0, 0), 0) == "L: 0.0 mm"
    flipped = affine.copy()
    flipped[2, 2] = -5.0  # slices stored head to feet: still the S coordinate
    assert slice_position_label(flipped, (0, 0, 10), 2) == "S: -400.0 mm"


def test_ellipse_stats_match_a_voxel_by_voxel_count():
    rng = np.random.default_rng(0)
    image = rng.normal(40, 20, size=(60, 80)).round()
    centre, radii = (30.3, 41.7), (12.5, 20.2)
    inside = [image[r, c] for r in range(60) for c in range(80)
              if ((r - centre[0]) / radii[0]) ** 2 + ((c - centre[1]) / radii[1]) ** 2 <= 1]
    stats = ellipse_stats(image, centre, radii, (0.5, 0.7))
    assert stats.n_voxels == len(inside)
    assert stats.mean == pytest.approx(np.mean(inside))
    assert stats.sd == pytest.approx(np.std(inside))
    assert (stats.minimum, stats.maximum) == (min(inside), max(inside))
    assert stats.area_mm2 == pytest.approx(np.pi * 12.5 * 0.5 * 20.2 * 0.7)
    # The analytic area and the voxel count agree for a large ellipse.
    assert stats.n_voxels * 0.5 * 0.7 == pytest.approx(stats.area_mm2, rel=0.02)
    assert "mean" in stats.label() and "mm²" in stats.label()


def test_ellipse_outside_the_image_has_no_stats():
    assert ellipse_stats(np.zeros((10, 10)), (-50, -50), (2, 2), (1, 1)) is None
    assert ellipse_mask((5, 5), (2, 2), (0, 0)).sum() == 1  # a zero-size ellipse: its centre voxel


def test_plane_image_axes():
    vol = np.arange(2 * 3 * 4).reshape(2, 3, 4)  # [k, j, i]
    assert plane_image(vol, 2, 1).shape == (3, 4)  # axial: [j, i]
    assert plane_image(vol, 1, 2).shape == (2, 4)  # coronal: [k, i]
    assert plane_image(vol, 0, 3).tolist() == vol[:, :, 3].tolist()  # sagittal: [k, j]


@pytest.mark.parametrize("max_mm, expected", [(87.0, 50.0), (50.0, 50.0), (49.9, 20.0), (19.0, 10.0),
                                              (0.3, 0.2), (123.0, 100.0), (1.0, 1.0)])
def test_nice_length(max_mm, expected):
    assert nice_length(max_mm) == pytest.approx(expected)


def test_nice_length_refuses_nonsense():
    with pytest.raises(ValueError):
        nice_length(0.0)


def test_length_label():
    assert length_label(50.0) == "5 cm"
    assert length_label(10.0) == "1 cm"
    assert length_label(5.0) == "5 mm"
    assert length_label(0.5) == "0.5 mm"
    assert length_label(20.0) == "2 cm"
