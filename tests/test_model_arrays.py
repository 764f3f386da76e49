"""Preprocessed ``.npy`` images as M3D-VQA and M3D-Cap ship them (values 0 to 1, no HU): loaded
in model units, given to the model as stored on a matching grid, refused with a sentence when
they are not such arrays, and never checked as if they held Hounsfield units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.bundle import TrainedScope
from inference.chat.scope import check_region
from inference.io import CTLoadError, list_series, load_volume
from inference.preprocess import RECIPES, preprocess


@pytest.fixture(scope="module")
def m3d_array(a0001_volume, tmp_path_factory) -> tuple[Path, np.ndarray]:
    """The a0001 chest as M3D stores an image: (1, 32, 256, 256) float32 in [0, 1]."""
    array = preprocess(a0001_volume, RECIPES["m3d"]).array[0]
    path = tmp_path_factory.mktemp("m3d") / "image.npy"
    np.save(path, array)
    return path, array


def test_an_m3d_array_reaches_an_m3d_model_exactly_as_stored(m3d_array) -> None:
    path, array = m3d_array
    volume = load_volume(path)
    assert not volume.in_hu and volume.shape == (32, 256, 256)
    model_input = preprocess(volume, RECIPES["m3d"])  # no HU window, no body crop on top
    assert np.array_equal(model_input.array[0], array)
    assert model_input.slice_map.n_original == 32


def test_an_m3d_array_is_resized_onto_a_smaller_grid(m3d_array) -> None:
    path, array = m3d_array
    recipe = RECIPES["m3d"].__class__("small", (-1000.0, 1000.0), (16, 64, 64), crop_foreground=True)
    out = preprocess(load_volume(path), recipe).array[0, 0]
    assert out.shape == (16, 64, 64)
    # a 2 x 4 x 4 block mean is what a centre-aligned linear resize by those factors samples
    block = array[0].reshape(16, 2, 64, 4, 64, 4)
    assert np.allclose(out, block[:, :, :, 1:3, :, 1:3].mean(axis=(1, 3, 5)), atol=1e-5)


def test_the_load_warning_says_there_are_no_hounsfield_units(m3d_array) -> None:
    path, _ = m3d_array
    volume = load_volume(path)
    assert [w.code for w in volume.warnings] == ["model_array"]
    assert "not Hounsfield units" in volume.warnings[0].message
    [series] = list_series(path)
    assert (series.modality, series.n_slices, series.rows) == ("model array", 32, 256)


def test_the_lung_check_does_not_read_model_values_as_hu(m3d_array) -> None:
    scope = TrainedScope(True, body_region="chest", required_structure="lungs")
    check = check_region(load_volume(m3d_array[0]), scope)
    assert check.status == "unknown" and "without Hounsfield units" in check.message


@pytest.mark.parametrize("content, said", [
    (np.full((4, 8, 8), 300.0, np.float32), "values from 300 to 300"),
    (np.zeros((8, 8), np.float32), "3 dimensions"),
    (np.zeros((2, 3, 4, 5), np.float32), "3 dimensions"),
    (np.array([[[np.nan, 0.5], [0.1, 0.2]]] * 2, np.float32), "NaN"),
    (np.zeros((2, 2, 2), dtype="U3"), "not image intensities"),
    (b"\x93NUMPY garbage", "not a readable NumPy array file"),
    (np.array([{"a": 1}], dtype=object), "not a readable NumPy array file"),
])
def test_a_file_that_is_not_a_model_array_gets_a_sentence(tmp_path: Path, content, said) -> None:
    path = tmp_path / "x.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content, allow_pickle=True)
    with pytest.raises(CTLoadError, match=said) as info:
        load_volume(path)
    assert "Error" not in str(info.value) and "\n" not in str(info.value)
