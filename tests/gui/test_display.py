"""What is on screen: radiological orientation, aspect ratio, DICOM = NIfTI, 3D presets, screenshots."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from gui_helpers import A0001_DICOM, A0001_NIFTI, load, need
from PySide6 import QtCore, QtGui

pytestmark = pytest.mark.gui

MIN_STD = 12.0  # grey-level spread of a view that shows anatomy (a blank view is ~0)


def test_orientation_letters(chest):
    letters = {v.plane.name: {e: a.GetInput() for e, a in v._letters.items()} for v in chest.slice_views}
    assert letters["axial"] == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert letters["coronal"] == {"left": "R", "right": "L", "top": "S", "bottom": "I"}
    assert letters["sagittal"] == {"left": "A", "right": "P", "top": "S", "bottom": "I"}


def test_radiological_layout_and_true_aspect(chest):
    ax, co, sa = chest.axial, chest.coronal, chest.sagittal
    k, j, i = chest.position
    # Axial: column 0 (patient right) on screen left, row 0 (anterior) at the top.
    assert ax.widget_point_of((k, j, 0)).x() < ax.widget_point_of((k, j, 511)).x()
    assert ax.widget_point_of((k, 0, i)).y() < ax.widget_point_of((k, 511, i)).y()
    # Coronal: superior (high k) up, patient right on the left.
    assert co.widget_point_of((63, j, i)).y() < co.widget_point_of((0, j, i)).y()
    assert co.widget_point_of((k, j, 0)).x() < co.widget_point_of((k, j, 511)).x()
    # Sagittal: anterior (row 0) on the left, superior up.
    assert sa.widget_point_of((k, 0, i)).x() < sa.widget_point_of((k, 511, i)).x()
    assert sa.widget_point_of((63, j, i)).y() < sa.widget_point_of((0, j, i)).y()
    # True aspect: 63 slices x 5 mm against 511 columns x 0.842 mm.
    h = co.widget_point_of((0, j, i)).y() - co.widget_point_of((63, j, i)).y()
    w = co.widget_point_of((k, j, 511)).x() - co.widget_point_of((k, j, 0)).x()
    assert h / w == pytest.approx((63 * 5.0) / (511 * 0.841796875), rel=0.02)


def test_heart_on_screen_right_spine_at_bottom(chest):
    """The A0001 chest: mediastinum (soft tissue) left of the patient's midline, spine posterior."""
    vol = chest.scan.volume.voxels
    k = chest.axial.slice_index
    img = vol[k].astype(float)
    tissue = (img > -100) & (img < 100)
    body_rows = slice(150, 330)  # the chest between sternum and spine
    left_half = tissue[body_rows, 256:].sum()  # screen right half = patient left
    right_half = tissue[body_rows, :256].sum()
    assert left_half > right_half  # the heart lies to the patient's left
    bone_rows = np.nonzero((img[:, 200:312] > 200).any(axis=1))[0]
    assert np.median(bone_rows) > 256  # bone (spine) in the lower (posterior) half
    # ... and the view puts screen right at patient left.
    assert chest.axial.widget_point_of((k, 256, 400)).x() > chest.axial.widget_point_of((k, 256, 100)).x()


def test_nifti_and_dicom_display_identically(window, qtbot):
    load(qtbot, window, need(A0001_DICOM))
    qtbot.keyClick(window.axial.canvas, "1")
    dicom = {v.plane.name: v.canvas.to_array() for v in window.slice_views}
    load(qtbot, window, need(A0001_NIFTI))
    qtbot.keyClick(window.axial.canvas, "1")
    assert window.scan.volume.shape == (64, 512, 512)
    for v in window.slice_views:
        diff = np.abs(v.canvas.to_array().astype(int) - dicom[v.plane.name].astype(int))
        assert diff.mean() < 1.0, v.plane.name


def test_volume_rendering_presets_change_the_picture(chest):
    vv = chest.volume_view
    frames = {}
    for pid in ("soft_tissue", "bone", "lung", "angio"):
        vv.set_preset(pid)
        frames[pid] = vv.canvas.to_array()
        assert frames[pid].std() > 5, pid
    assert np.abs(frames["bone"].astype(int) - frames["lung"].astype(int)).mean() > 2
    assert vv.preset_box.currentData() == "angio"


def test_3d_mapper_matches_the_driver(chest):
    vv = chest.volume_view
    soft = any(s in vv.gl_renderer.lower() for s in ("llvmpipe", "softpipe"))
    assert vv.gl_renderer
    assert vv.mapper.GetClassName() == (
        "vtkFixedPointVolumeRayCastMapper" if soft else "vtkOpenGLGPUVolumeRayCastMapper")
    if soft:  # downsampled for interactive frames on the CPU, and the view says so
        assert vv.vr.downsampled and "downsampled" in vv.corner.GetText(3)


def _view_rects(win):
    views = (*win.slice_views, win.volume_view)
    return {v.objectName() or "3d": QtCore.QRect(v.mapTo(win, QtCore.QPoint(0, 0)), v.size()) for v in views}


def test_window_screenshot_every_view_non_blank(chest, tmp_path):
    from viewer.views.screenshot import image_std

    out = tmp_path / "window.png"
    chest.save_window_png(out)
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (chest.width(), chest.height())
    for name, rect in _view_rects(chest).items():
        assert image_std(img, rect) > MIN_STD, name


def test_view_screenshots(chest, tmp_path):
    from viewer.views.screenshot import image_std

    for name in ("axial", "coronal", "sagittal", "3d"):
        out = tmp_path / f"{name}.png"
        chest.view_by_name(name).save_png(str(out))
        img = QtGui.QImage(str(out))
        assert not img.isNull() and image_std(img) > MIN_STD, name


def test_cli_view_screenshot(qapp, tmp_path):
    """``ctchat view A0001 --screenshot OUT.png``: the function behind it, in this process."""
    from viewer.cli import register
    from viewer.views.screenshot import image_std

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = tmp_path / "shot.png"
    args = parser.parse_args(["view", str(need(A0001_DICOM)), "--screenshot", str(out), "--size", "1200x800"])
    assert args.func(args) == 0
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (1200, 800)
    top = 60  # below menu and tool bar
    w, h = img.width(), img.height() - top - 30
    for qx in (0, 1):
        for qy in (0, 1):
            rect = QtCore.QRect(qx * w // 2 + 20, top + qy * h // 2 + 20, w // 2 - 40, h // 2 - 40)
            assert image_std(img, rect) > MIN_STD, (qx, qy)


def test_cli_bad_path_fails(qapp, tmp_path, capsys):
    from viewer.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["view", str(tmp_path / "missing.nii.gz"), "--screenshot", str(tmp_path / "x.png")])
    assert args.func(args) == 1
    assert not (tmp_path / "x.png").exists()
    assert "could not load" in capsys.readouterr().err
