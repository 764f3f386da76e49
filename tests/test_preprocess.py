"""Model preprocessing recipes and the map from model slices back to the original slices."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inference.io import load_volume
from inference.io.volume import Volume
from inference.preprocess import RECIPES, PreprocessRecipe, preprocess


def marked_volume(base: Volume, k: int) -> Volume:
    """A copy of ``base`` with a bright 30 x 30 block in slice ``k``, centred in-plane."""
    voxels = base.voxels.copy()
    ny, nx = voxels.shape[1:]
    voxels[k, ny // 2 - 15 : ny // 2 + 15, nx // 2 - 15 : nx // 2 + 15] = 1000
    return dataclasses.replace(base, voxels=voxels)


@pytest.mark.parametrize("name, shape", [("e3d_gpt", (112, 224, 224)), ("m3d", (32, 256, 256))])
def test_published_recipes_give_the_published_grid(a0001_volume, name, shape):
    mi = preprocess(a0001_volume, RECIPES[name])
    assert mi.array.shape == (1, 1, *shape)
    assert mi.array.dtype == np.float32
    assert mi.array.min() >= 0.0 and mi.array.max() <= 1.0
    assert mi.array.max() == pytest.approx(1.0)  # bone clipped at +1000 HU
    assert mi.slice_map.n_model == shape[0] and mi.slice_map.n_original == 64


def test_e3d_gpt_resamples_to_its_spacing(a0001_volume):
    mi = preprocess(a0001_volume, RECIPES["e3d_gpt"])
    inside = ~np.isnan(mi.slice_map.model_to_original)
    # 3 mm model slices over 5 mm original slices: 0.6 original slice per model slice
    assert np.allclose(np.diff(mi.slice_map.model_to_original[inside]), 0.6)
    # 64 x 5 mm = 320 mm of scan; 112 x 3 mm = 336 mm of grid: padding at both ends (value 0 = air)
    assert not inside[0] and not inside[-1]
    assert np.all(mi.array[0, 0, ~inside] == 0.0)


def test_hu_window_and_scaling_are_exact(a0001_volume):
    recipe = dataclasses.replace(RECIPES["m3d"], hu_window=(-100.0, 100.0), output_range=(-1.0, 1.0), crop_foreground=False)
    mi = preprocess(a0001_volume, recipe)
    assert mi.array.min() == pytest.approx(-1.0) and mi.array.max() == pytest.approx(1.0)
    ref = np.clip(a0001_volume.voxels.astype(np.float32), -100, 100) / 100.0
    # same grid in-plane as 2x resize of a 512 image: the mean intensity is preserved closely
    assert mi.array.mean() == pytest.approx(ref.mean(), abs=0.02)


@pytest.mark.parametrize("name", ["e3d_gpt", "m3d"])
@pytest.mark.parametrize("k", [10, 33, 50])
def test_a_mark_on_an_original_slice_is_found_back_through_the_slice_map(a0001_volume, name, k):
    mi = preprocess(marked_volume(a0001_volume, k), RECIPES[name])
    plain = preprocess(a0001_volume, RECIPES[name])
    added = (mi.array - plain.array)[0, 0].sum(axis=(1, 2))
    j = int(np.argmax(added))
    assert k in np.flatnonzero(np.rint(mi.slice_map.original_to_model) == j)  # the original slices nearest j
    scores = np.zeros(mi.slice_map.n_model)
    scores[j] = 1.0
    mapped = mi.slice_map.to_original(scores)
    assert k in np.flatnonzero(mapped == mapped.max())  # 2:1 downsampling can tie two slices


def test_foreground_crop_drops_the_air_and_table(a0001_volume):
    mi = preprocess(a0001_volume, RECIPES["m3d"])
    (z0, z1), (y0, y1), (x0, x1) = mi.crop_box_zyx
    assert (z0, z1) == (0, 64)
    assert y1 - y0 < 512 and x1 - x0 <= 512


def test_slice_map_across_a_gap_uses_true_positions(ct_dir):
    vol = load_volume(ct_dir / "tiny" / "monai_CT_DICOM_16x16")
    recipe = dataclasses.replace(RECIPES["m3d"], target_shape_zyx=(32, 16, 16), crop_foreground=False)
    sm = preprocess(vol, recipe).slice_map
    # the 202.5 mm gap takes almost all the slab: slices 1-3 (3.75 mm) share the last model slices
    assert sm.original_to_model[0] < 1.0
    assert np.all(sm.original_to_model[1:] > 30.0)
    assert np.all(np.diff(sm.original_to_model) > 0)


def test_to_original_rejects_wrong_length(a0001_volume):
    sm = preprocess(a0001_volume, RECIPES["m3d"]).slice_map
    with pytest.raises(ValueError):
        sm.to_original(np.ones(5))


def test_recipe_round_trips_through_a_manifest_dict():
    for recipe in RECIPES.values():
        assert PreprocessRecipe.from_dict(recipe.to_dict()) == recipe
