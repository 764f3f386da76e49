"""Thick slabs on the real A0001 chest (64 x 512 x 512, 5 mm slices): what each view draws is
numpy's max, min or mean over the slices whose centres lie within half the thickness."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from gui_helpers import A0001_DICOM, need, wheel

from viewer.models.slab import PLAIN, Slab, SlabMode, parse_slab
from viewer.views.slab_image import displayed_values

pytestmark = pytest.mark.gui
NUMPY = {SlabMode.MIP: np.max, SlabMode.MINIP: np.min, SlabMode.MEAN: np.mean}


@pytest.fixture
def slabbed(chest):
    yield chest
    chest.reading.set_slab(PLAIN)


def numpy_slab(voxels: np.ndarray, array_axis: int, index: int, spacing_mm: float, thickness_mm: float,
               mode: SlabMode) -> np.ndarray:
    """The projection computed here from the slice positions, independently of the viewer."""
    centres = np.arange(voxels.shape[array_axis]) * spacing_mm
    inside = np.flatnonzero(np.abs(centres - centres[index]) <= thickness_mm / 2 + 1e-6)
    return NUMPY[mode](np.take(voxels, inside, axis=array_axis).astype(np.float64), axis=array_axis)


@pytest.mark.parametrize("mode", list(SlabMode))
def test_drawn_slab_is_numpys_projection(slabbed, mode):
    win, vol = slabbed, slabbed.scan.volume
    win.reading.set_slab(Slab(mode, 20.0))
    wheel(win.axial.canvas, 3)  # the slab follows the slice
    k = win.axial.slice_index
    drawn = displayed_values(win.axial)
    expected = numpy_slab(vol.voxels, 0, k, vol.spacing_zyx[0], 20.0, mode)
    assert drawn.shape == (512, 512)
    assert win.axial.slab.slices == (k - 2, k + 3)  # 5 mm slices: 2 either side within 10 mm
    np.testing.assert_allclose(drawn, expected, atol=1e-3)
    if mode != SlabMode.MEAN:
        assert not np.array_equal(drawn, vol.voxels[k])  # a projection, not the slice
    # Coronal: 0.84 mm rows, so a 20 mm slab is 23 rows.
    j = win.coronal.slice_index
    np.testing.assert_allclose(displayed_values(win.coronal),
                               numpy_slab(vol.voxels, 1, j, vol.spacing_zyx[1], 20.0, mode), atol=1e-3)
    assert "20 mm" in win.axial.corner.GetText(2)


def test_slab_off_shows_the_slice_again(slabbed):
    win, vol = slabbed, slabbed.scan.volume
    win.slab_menu.mode_actions[SlabMode.MINIP].trigger()
    assert win.reading.slab.mode == SlabMode.MINIP
    win.slab_menu.thickness_actions[10.0].trigger()
    assert win.reading.slab == Slab(SlabMode.MINIP, 10.0)
    k = win.axial.slice_index
    assert win.axial.slab.slices == (k - 1, k + 2)
    win.slab_menu.mode_actions[None].trigger()
    np.testing.assert_array_equal(displayed_values(win.axial), vol.voxels[k])
    assert "MinIP" not in win.axial.corner.GetText(2)


def test_slab_at_the_first_slice_is_clipped(slabbed):
    win, vol = slabbed, slabbed.scan.volume
    win.reading.set_slab(Slab(SlabMode.MIP, 40.0))
    win.axial.set_slice(0)
    assert win.axial.slab.slices == (0, 5)
    np.testing.assert_array_equal(displayed_values(win.axial), vol.voxels[:5].max(axis=0))


def test_parse_slab_says_what_is_wrong():
    assert parse_slab("mip:20") == Slab(SlabMode.MIP, 20.0) and parse_slab("off") == PLAIN
    for bad, words in (("max:20", "unknown slab"), ("mip:wide", "not a number"), ("mip:0", "between 0")):
        with pytest.raises(ValueError, match=words):
            parse_slab(bad)


@pytest.mark.parametrize("slab", ["mip:20", "minip:20", "mean:20"])
def test_ctchat_view_slab_screenshot(tmp_path, slab):
    out = tmp_path / "slab.png"
    run = subprocess.run([sys.executable, "-m", "inference.cli", "view", str(need(A0001_DICOM)), "--slab", slab,
                          "--screenshot", str(out), "--size", "900x600"], capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    assert out.stat().st_size > 10_000


def test_ctchat_view_rejects_a_bad_slab(tmp_path):
    run = subprocess.run([sys.executable, "-m", "inference.cli", "view", "--slab", "max:20",
                          "--screenshot", str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "unknown slab 'max'" in run.stderr and "Traceback" not in run.stderr
