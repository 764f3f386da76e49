"""Measurements and edge letters on an oblique plane: a ruler drawn between two marked voxels on a
turned plane measures their distance through the scan's affine and keeps their scan positions;
an ROI on a region only the turned plane cuts has that region's HU; a turned measurement is shown
only with its turn and plane, and comes back with them; the edge letters follow the turn."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
from gui_helpers import drag
from PySide6 import QtWidgets
from PySide6.QtCore import Qt
from vtkmodules.util.numpy_support import vtk_to_numpy

from inference.measure import ellipse_mask
from viewer.models.measurement_records import MeasurementRecord, points_lps_mm
from viewer.models.oblique import PLAIN_FRAME, axis_rotation, parse_oblique
from viewer.models.reading import Tool

pytestmark = pytest.mark.gui
SPACING_XYZ = np.array([0.8, 0.8, 2.0])
CENTRE_IJK = np.array([40, 40, 20])  # the crosshair (i, j, k)
CENTRE_MM = CENTRE_IJK * SPACING_XYZ
TURN = "axial:30"
ROTATION = axis_rotation(2, 30)
MARK, REGION = 3000, 400
# Offsets (mm) from the crosshair in the turned frame: ruler ends on the turned sagittal plane
# (x = 0) and on the axial plane (z = 0), and a block of REGION HU that only the turned sagittal
# plane cuts (on the plain sagittal plane it would need |y| <= 6 mm and y >= 16 mm at once).
RULER_ENDS = {"sagittal": ((0.0, -20.0, -12.0), (0.0, 4.0, 14.0)), "axial": ((-12.0, 8.0, 0.0), (10.0, -12.0, 0.0))}
REGION_Y_MM, REGION_HALF_MM, REGION_NORMAL_MM = (14.0, 30.0), 8.0, 3.0


def mark_of(offset_mm) -> np.ndarray:
    """The voxel (i, j, k) nearest the point ``offset_mm`` from the crosshair in the turned frame."""
    return np.rint((CENTRE_MM + ROTATION @ np.asarray(offset_mm)) / SPACING_XYZ).astype(int)


def turned_scan(tilt_degrees: float = 20.0):
    """A 80 x 80 x 40 volume (0.8 x 0.8 x 2 mm; an origin, a flipped i axis and a gantry tilt in
    its affine, so VTK's mm are not the patient's) with the marks and the region above."""
    from inference.io.volume import Volume
    from viewer.models.reading import LoadedScan
    from viewer.models.window_level import WindowLevel

    voxels = np.full((40, 80, 80), -1000, np.int16)
    for ends in RULER_ENDS.values():
        for end in ends:
            i, j, k = mark_of(end)
            voxels[k - 1:k + 2, j - 1:j + 2, i - 1:i + 2] = MARK
    k, j, i = np.meshgrid(*(np.arange(n) for n in voxels.shape), indexing="ij")
    local = np.einsum("ab,...b->...a", ROTATION.T, np.stack([i, j, k], -1) * SPACING_XYZ - CENTRE_MM)  # turned frame
    region = ((np.abs(local[..., 0]) <= REGION_NORMAL_MM) & (local[..., 1] >= REGION_Y_MM[0])
              & (local[..., 1] <= REGION_Y_MM[1]) & (np.abs(local[..., 2]) <= REGION_HALF_MM))
    voxels[region] = REGION
    t = np.radians(tilt_degrees)
    affine = np.array([[-0.8, 0, 0, 120.0], [0, 0.8, 2.0 * np.sin(t), -50.0], [0, 0, 2.0 * np.cos(t), -300.0],
                       [0, 0, 0, 1]])
    vol = Volume(voxels=voxels, affine=affine, slice_positions=-300.0 + 2.0 * np.cos(t) * np.arange(40),
                 metadata={"modality": "CT"})
    return LoadedScan(vol, "turned.nii.gz", WindowLevel(2000, 0, "Test"), None)


@pytest.fixture
def turned_window(window):
    window.show_scan(turned_scan())
    window.set_position(CENTRE_IJK[::-1], render_now=True)
    window.reading.set_oblique(parse_oblique(TURN))
    QtWidgets.QApplication.processEvents()
    yield window
    window.set_tool(Tool.NAVIGATE)


def widget_point(view, offset_mm):
    """The widget point where the view draws the point ``offset_mm`` from the crosshair (turned frame)."""
    from viewer.views.slice_camera import world_to_widget

    return world_to_widget(view.renderer, view.canvas, CENTRE_MM + np.asarray(offset_mm))


def shown(m) -> bool:
    return all(actor.GetVisibility() for actor in m.actors)


@pytest.mark.parametrize("plane", ["sagittal", "axial"])
def test_a_ruler_on_the_turned_plane_measures_the_marks_through_the_affine(turned_window, plane):
    win, vol = turned_window, turned_window.scan.volume
    view = win.view_by_name(plane)
    win.set_tool(Tool.RULER)
    start, end = RULER_ENDS[plane]
    drag(view.canvas, widget_point(view, start), widget_point(view, end), Qt.MouseButton.LeftButton)
    (m,) = view.measure.items
    marks = [mark_of(start), mark_of(end)]
    lps = [vol.affine @ np.append(mark, 1.0) for mark in marks]
    expected = float(np.linalg.norm(lps[1] - lps[0]))
    assert m.length_mm == pytest.approx(expected, rel=0.01)
    (record,) = view.measure.records()
    assert record.oblique is not None and np.allclose(np.reshape(record.oblique, (3, 3)), ROTATION)
    assert "oblique" in record.words() and f"{record.length_mm:.1f} mm" in record.words()
    for seen, true in zip(points_lps_mm(vol, record), lps):  # the ends are the marks' own points
        assert np.linalg.norm(np.array(seen) - true[:3]) < 1.0
    assert json.loads(json.dumps(asdict(record)))["oblique"] == list(record.oblique)  # plain JSON


def test_an_roi_on_the_turned_plane_reads_the_region_the_plain_plane_misses(turned_window):
    win = turned_window
    view = win.sagittal
    assert not (view.voxels[:, :, CENTRE_IJK[0]] == REGION).any()  # not on the plain sagittal slice
    win.set_tool(Tool.ELLIPSE)
    y = sum(REGION_Y_MM) / 2.0
    a, b = (0.0, y - 3.0, -4.0), (0.0, y + 3.0, 4.0)  # an ellipse 6 x 8 mm inside the region
    drag(view.canvas, widget_point(view, a), widget_point(view, b), Qt.MouseButton.LeftButton)
    (m,) = view.measure.items
    assert m.stats is not None and m.stats.mean == pytest.approx(REGION, abs=1.0) and m.stats.sd < 1.0
    assert m.stats.area_mm2 == pytest.approx(np.pi * 3.0 * 4.0, rel=0.15)
    # what the reader sees: the view's resliced image has the same HU inside the drawn ellipse
    view.render_now()
    image = view.mapper.GetInput()
    x0, x1, y0, y1, z0, z1 = image.GetExtent()
    cut = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(z1 - z0 + 1, y1 - y0 + 1, x1 - x0 + 1)[:, :, 0]
    centre_px, radii_px = (m.p0 + m.p1) / 2.0 / SPACING_XYZ, np.abs(m.p1 - m.p0) / 2.0 / SPACING_XYZ
    inside = cut[ellipse_mask(cut.shape, (centre_px[2], centre_px[1]), (radii_px[2], radii_px[1]))]
    assert inside.size and inside.mean() == pytest.approx(m.stats.mean, abs=1.0)
    (record,) = view.measure.records()
    assert record.mean_hu == pytest.approx(REGION, abs=1.0) and "oblique" in record.words()


def draw_sagittal_ruler(win):
    """Drag the ruler between the two sagittal marks on the turned sagittal view; its view."""
    view = win.sagittal
    win.set_tool(Tool.RULER)
    start, end = RULER_ENDS["sagittal"]
    drag(view.canvas, widget_point(view, start), widget_point(view, end), Qt.MouseButton.LeftButton)
    return view


def test_a_turned_measurement_shows_only_with_its_turn_and_plane(turned_window):
    win = turned_window
    view = draw_sagittal_ruler(win)
    start, end = RULER_ENDS["sagittal"]
    (m,) = view.measure.items
    assert shown(m)
    win.reading.set_oblique(PLAIN_FRAME)
    assert not shown(m)  # the plain plane does not hold it
    win.reading.set_oblique(parse_oblique(TURN))
    assert shown(m)
    win.set_position((20, 40, 43), render_now=True)  # 3 voxels along i: another turned sagittal plane
    assert not shown(m)
    # one back along i and two along j stays (within 0.11 mm) on the turned plane: shown, and its
    # ends drawn where the view now draws the marks (the cut moved with the crosshair)
    win.set_position((20, 42, 39), render_now=True)
    assert shown(m)
    centre = np.array([39, 42, 20]) * SPACING_XYZ
    for drawn, offset in zip((m.p0, m.p1), (start, end)):
        where = win.reading.oblique.to_display(mark_of(offset) * SPACING_XYZ, centre)
        assert np.linalg.norm((drawn - where)[1:]) < 1.0  # in the sagittal view's plane (y, z)


def test_restore_keeps_a_turned_measurement_hidden_until_its_turn(turned_window):
    win = turned_window
    view = draw_sagittal_ruler(win)
    (record,) = view.measure.records()
    stored = MeasurementRecord(**json.loads(json.dumps(asdict(record))))  # as a disk store gives it back
    view.measure.clear()
    win.reading.set_oblique(PLAIN_FRAME)
    view.measure.restore([stored])
    (m,) = view.measure.items
    assert not shown(m) and m.length_mm == pytest.approx(record.length_mm, rel=1e-9)
    assert view.measure.records()[0].ijk0 == pytest.approx(record.ijk0)
    win.reading.set_oblique(parse_oblique(TURN))
    assert shown(m)
    win.reading.set_oblique(parse_oblique("axial:40"))  # another turn: hidden, still listed
    assert not shown(m) and len(view.measure.records()) == 1


def test_a_plain_measurement_hides_while_the_plane_is_turned(turned_window):
    win = turned_window
    win.reading.set_oblique(PLAIN_FRAME)
    view = win.axial
    win.set_tool(Tool.RULER)
    drag(view.canvas, widget_point(view, (-10, 0, 0)), widget_point(view, (10, 5, 0)), Qt.MouseButton.LeftButton)
    (m,) = view.measure.items
    (record,) = view.measure.records()
    assert shown(m) and record.oblique is None and "oblique" not in record.words()
    win.reading.set_oblique(parse_oblique(TURN))
    assert not shown(m)
    win.reading.set_oblique(PLAIN_FRAME)
    assert shown(m)


def letters(view) -> dict[str, str]:
    return {edge: actor.GetInput() for edge, actor in view._letters.items()}


def test_the_edge_letters_follow_the_turn(window):
    window.show_scan(turned_scan(tilt_degrees=0.0))  # i -> R, j -> P, k -> S
    plain = {v.plane.name: letters(v) for v in window.slice_views}
    assert plain["axial"] == {"right": "R", "left": "L", "top": "A", "bottom": "P"}
    window.reading.set_oblique(parse_oblique("axial:90"))
    assert letters(window.axial) == {"right": "P", "left": "A", "top": "R", "bottom": "L"}
    assert letters(window.sagittal)["right"] == "L" and letters(window.sagittal)["top"] == "S"
    window.reading.set_oblique(parse_oblique("axial:30"))
    assert letters(window.axial) == {"right": "RP", "left": "LA", "top": "AR", "bottom": "PL"}
    assert letters(window.sagittal) == {"right": "PL", "left": "AR", "top": "S", "bottom": "I"}
    assert letters(window.coronal)["right"] == "RP"
    window.reading.set_oblique(PLAIN_FRAME)
    assert {v.plane.name: letters(v) for v in window.slice_views} == plain


def test_the_list_goes_back_to_a_turned_measurement(turned_window):
    win = turned_window
    view = draw_sagittal_ruler(win)
    (m,) = view.measure.items
    win.reading.set_oblique(PLAIN_FRAME)
    win.set_position((5, 5, 5), render_now=True)
    assert not shown(m)
    item = win.measurements.list.item(0)
    assert "oblique" in item.text()
    win.measurements.list.itemDoubleClicked.emit(item)  # the reader double-clicks it in the list
    QtWidgets.QApplication.processEvents()
    assert np.allclose(win.reading.oblique.rotation, ROTATION) and shown(m)
