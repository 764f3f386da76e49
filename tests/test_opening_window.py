"""The window a scan opens in: a DICOM keeps its header's window; a scan without one (a NIfTI)
opens in the standard preset of the region it shows, not a washed-out percentile range."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.io import load_volume
from inference.resources import DEMO_CT
from viewer.models.window_level import opening_window


def test_the_bundled_nifti_chest_opens_in_the_lung_window():
    wl = opening_window(load_volume(DEMO_CT))
    assert (wl.name, wl.width, wl.level) == ("Lung", 1500, -600)


def test_a_dicom_keeps_its_header_window(a0001_volume):
    wl = opening_window(a0001_volume)
    assert (wl.name, wl.width, wl.level) == ("File", 1600, -600)


@pytest.mark.parametrize("rel, preset", [
    (Path("nifti") / "abdomen_pelvis_totalseg_example_ct_3mm.nii.gz", "Soft tissue"),
    (Path("nifti") / "chest_cta_heart_crop_totalseg_1p5mm.nii.gz", "Lung"),
])
def test_a_scan_without_a_window_opens_in_its_regions_preset(rel, preset, ct_dir):
    volume = load_volume(ct_dir / rel)
    assert volume.metadata.get("window_width") is None
    assert opening_window(volume).name == preset


def without_window(volume, lo=(0, 0, 0), hi=None, **header):
    part = volume.cropped(lo, hi or volume.shape)
    part.metadata.update(window_width=None, window_center=None, **header)
    return part


def test_the_header_region_or_nothing_picks_the_window(a0001_volume):
    head = dict(body_part="HEAD", study_description="", series_description="")
    assert opening_window(without_window(a0001_volume, **head)).name == "Brain"
    assert opening_window(without_window(a0001_volume)).name == "Lung"  # study "Chest"
    # no header region and 16 x 16 pixels (13 mm): nothing tells the region, so the percentile window
    crop = without_window(a0001_volume, (0, 200, 200), (64, 216, 216), study_description="")
    assert opening_window(crop).name == "Auto"
