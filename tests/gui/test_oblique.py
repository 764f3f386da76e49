"""Oblique planes: the views cut along the crosshair's turned axes; a marked voxel appears where
the rotation predicts (in the scan's mm, through its affine); Ctrl+drag turns the crosshair;
``ctchat view --oblique``."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt
from vtkmodules.util.numpy_support import vtk_to_numpy

from viewer.models.oblique import PLAIN_FRAME, axis_rotation, parse_oblique

gui = pytest.mark.gui
SPACING_XYZ = np.array([0.8, 0.8, 2.0])
CENTRE_IJK = np.array([40, 40, 20])  # the crosshair (i, j, k)
MARK = 3000


def test_parse_and_frame_maths():
    frame = parse_oblique("axial:30")
    assert frame.active and np.allclose(frame.rotation, axis_rotation(2, 30))
    assert np.allclose(frame.rotation @ [0, 0, 1], [0, 0, 1])  # the axial axis stays
    assert np.allclose(frame.rotation @ [1, 0, 0], [np.cos(np.pi / 6), np.sin(np.pi / 6), 0])
    both = parse_oblique("axial:30, coronal:-10")
    assert np.allclose(both.rotation, axis_rotation(2, 30) @ axis_rotation(1, -10))
    for axis in range(3):
        r = axis_rotation(axis, 25)
        assert np.allclose(r @ r.T, np.eye(3)) and np.isclose(np.linalg.det(r), 1.0)
    centre, point = [10.0, 20.0, 30.0], [13.0, 18.0, 31.0]
    assert np.allclose(frame.to_scan(centre, centre), centre)  # turned about the crosshair
    assert np.allclose(frame.to_display(frame.to_scan(point, centre), centre), point)
    assert parse_oblique("off") == PLAIN_FRAME and not PLAIN_FRAME.active
    for bad in ("oblique:30", "axial:thirty", "axial"):
        with pytest.raises(ValueError, match=r"^[^\n]+$"):
            parse_oblique(bad)


def marked_scan():
    """A 80 x 80 x 40 volume (0.8 x 0.8 x 2 mm, an origin and a flipped axis in its affine) with
    one bright 3-voxel cube on the sagittal plane turned 30 degrees about the axial axis."""
    from inference.io.volume import Volume
    from viewer.models.reading import LoadedScan
    from viewer.models.window_level import WindowLevel

    rotation = axis_rotation(2, 30)
    centre_mm = CENTRE_IJK * SPACING_XYZ
    mark_mm = centre_mm + rotation @ np.array([0.0, 20.0, 0.0])  # 20 mm along the turned sagittal plane
    mark = np.rint(mark_mm / SPACING_XYZ).astype(int)
    voxels = np.full((40, 80, 80), -1000, np.int16)
    i, j, k = mark
    voxels[k - 1:k + 2, j - 1:j + 2, i - 1:i + 2] = MARK
    affine = np.array([[-0.8, 0, 0, 120.0], [0, 0.8, 0, -50.0], [0, 0, 2.0, -300.0], [0, 0, 0, 1]])
    vol = Volume(voxels=voxels, affine=affine, slice_positions=-300.0 + 2.0 * np.arange(40),
                 metadata={"modality": "CT"})
    return LoadedScan(vol, "marked.nii.gz", WindowLevel(2000, 0, "Test"), None), mark


def bright_centre_mm(view) -> np.ndarray:
    """Centre (display mm) of the marked voxels in the image the view draws (the cut runs as it renders)."""
    view.render_now()
    image = view.mapper.GetInput()
    x0, x1, y0, y1, z0, z1 = image.GetExtent()
    arr = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(z1 - z0 + 1, y1 - y0 + 1, x1 - x0 + 1)
    k, j, i = np.nonzero(arr > MARK / 2)
    assert len(k), f"the mark is not in the {view.plane.name} view"
    return np.array([i.mean() + x0, j.mean() + y0, k.mean() + z0]) * SPACING_XYZ


@pytest.fixture
def oblique_window(window):
    scan, mark = marked_scan()
    window.show_scan(scan)
    window.set_position(CENTRE_IJK[::-1], render_now=True)
    window.reading.set_oblique(parse_oblique("axial:30"))
    QtWidgets.QApplication.processEvents()
    return window, mark


@gui
def test_a_marked_voxel_appears_where_the_rotation_predicts(oblique_window):
    win, mark = oblique_window
    frame = win.reading.oblique
    centre_mm = CENTRE_IJK * SPACING_XYZ
    predicted = frame.to_display(mark * SPACING_XYZ, centre_mm)  # where the turned views draw it
    for view in (win.sagittal, win.axial):  # the turned sagittal plane and the axial plane hold the mark
        seen = bright_centre_mm(view)
        assert np.linalg.norm(seen - predicted) < 1.0, view.plane.name
        # back through the turned frame and the affine: the marked voxel's patient position
        scan_ijk = frame.to_scan(seen, centre_mm) / SPACING_XYZ
        lps_seen = win.scan.volume.affine @ np.append(scan_ijk, 1)
        assert np.linalg.norm(lps_seen - win.scan.volume.affine @ np.append(mark, 1)) < 1.0
    # the plain sagittal slice through the crosshair does not hold it: the view did turn
    assert win.sagittal.voxels[:, :, CENTRE_IJK[0]].max() < MARK
    assert "oblique" in win.sagittal.corner.GetText(2)


@gui
def test_clicking_the_mark_in_the_turned_view_picks_its_voxel(oblique_window):
    from viewer.views.slice_camera import world_to_widget

    win, mark = oblique_window
    predicted = win.reading.oblique.to_display(mark * SPACING_XYZ, CENTRE_IJK * SPACING_XYZ)
    view = win.sagittal
    point = world_to_widget(view.renderer, view.canvas, predicted)
    picked = np.array(view.index_at(point)[::-1])  # (i, j, k)
    assert np.abs(picked - mark).max() <= 1
    win.reading.set_oblique(PLAIN_FRAME)
    assert np.abs(np.array(view.index_at(point)[::-1]) - mark).max() > 1  # plain: another voxel there


def ctrl_mouse(widget, kind, pos):
    button = Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.NoButton if kind == QtCore.QEvent.Type.MouseButtonRelease else button
    ev = QtGui.QMouseEvent(kind, pos, QtCore.QPointF(widget.mapToGlobal(pos.toPoint())),
                           Qt.MouseButton.NoButton if kind == QtCore.QEvent.Type.MouseMove else button,
                           buttons, Qt.KeyboardModifier.ControlModifier)
    QtWidgets.QApplication.sendEvent(widget, ev)


@gui
def test_ctrl_drag_turns_the_crosshair_about_the_views_axis(window):
    scan, _mark = marked_scan()
    window.show_scan(scan)
    window.set_position(CENTRE_IJK[::-1], render_now=True)
    view = window.axial
    centre = view.widget_point_of(view.position)
    r = 60.0
    path = [QtCore.QPointF(centre.x() + r * np.cos(t), centre.y() - r * np.sin(t))
            for t in np.radians([0, 30, 60, 90])]  # a quarter turn, counter-clockwise on screen
    E = QtCore.QEvent.Type
    ctrl_mouse(view.canvas, E.MouseButtonPress, path[0])
    for p in path[1:]:
        ctrl_mouse(view.canvas, E.MouseMove, p)
    ctrl_mouse(view.canvas, E.MouseButtonRelease, path[-1])
    # the axial camera looks along +k: a counter-clockwise sweep is -90 degrees about +k
    assert np.allclose(window.reading.oblique.rotation, axis_rotation(2, -90), atol=1e-6)
    assert window.position == tuple(CENTRE_IJK[::-1])  # the drag did not move the crosshair
    window.reset_views()  # R: the plain planes again
    assert not window.reading.oblique.active and "oblique" not in view.corner.GetText(2)


def test_cli_oblique_flag(capsys):
    from viewer.cli import _view_argv, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["view", "scan.nii.gz", "--oblique", "axial:30"])
    assert _view_argv(args, "scan.nii.gz")[-2:] == ["--oblique", "axial:30"]
    bad = parser.parse_args(["view", "scan.nii.gz", "--oblique", "axail:30", "--screenshot", "x.png"])
    assert bad.func(bad) == 2
    err = capsys.readouterr().err
    assert "unknown plane 'axail'" in err and "Traceback" not in err
