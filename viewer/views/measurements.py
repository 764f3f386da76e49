"""The slice views' measurements: a length ruler and an ellipse ROI, drawn over the image.

Either is drawn by dragging with the left button, or by two clicks (start, end). A measurement
belongs to the slice it was drawn on and is shown only there (as in OHIF). The maths is in
:mod:`inference.measure`; this module turns mouse positions into voxel positions and draws.

On an oblique plane (:mod:`viewer.models.oblique`) the mouse draws in the turned display frame:
each end is taken back to the scan through the frame about the crosshair and kept there, so a
length and the record's points are the scan's own. Such a measurement is shown only while the
same turn shows a plane it lies on, and is drawn where its scan points appear (the cut moves
with the crosshair). Its ROI statistics come from the turned plane sampled from the voxels
(:func:`~viewer.models.oblique.turned_plane_patch`, linear as the view's reslice) on the plain
slice's pixel size, centred on the ellipse: not from the view's resliced image, which exists only
while the turn is shown and shifts with the crosshair, so a restored ROI measures what it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PySide6 import QtCore
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkFiltersSources import vtkLineSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer, vtkTextActor

from inference.measure import RegionStats, distance_mm, ellipse_stats, plane_image

from ..models.events import Event
from ..models.measurement_records import MeasurementRecord
from ..models.oblique import Oblique, turned_plane_patch
from ..models.planes import Plane
from ..models.reading import ReadingState, Tool

COLOR = (0.3, 0.9, 1.0)  # cyan: apart from the crosshair's red, green and yellow
CLICK_PX = 4.0  # a press and release closer than this is a click: the next click ends the measurement
ELLIPSE_POINTS = 72


class MeasuredView(Protocol):
    """What the measurements need from the slice view they are drawn on."""

    plane: Plane
    reading: ReadingState  # its oblique frame
    renderer: vtkRenderer
    affine: np.ndarray  # (i, j, k, 1) -> LPS mm
    voxels: np.ndarray | None  # [k, j, i] HU

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size (dx, dy, dz) in mm, VTK axis order."""

    @property
    def slice_index(self) -> int:
        """The slice shown."""

    @property
    def position(self) -> tuple[int, int, int]:
        """The crosshair ``(k, j, i)``: the turned planes pass through it."""

    def to_world(self, p: QtCore.QPointF) -> np.ndarray:
        """World point (mm, VTK axes) under widget position ``p``."""

    def render_now(self) -> None:
        """Render the view now."""


@dataclass
class Measurement:
    """One ruler or ellipse: its corners in VTK world mm (as drawn now), the slice it lies on and
    its result; on an oblique plane also the turned frame and its ends in the scan."""

    kind: Tool
    slice_index: int
    p0: np.ndarray
    p1: np.ndarray
    source: object = None  # vtkLineSource (ruler) or the ellipse's vtkPoints
    actors: list = field(default_factory=list)
    length_mm: float | None = None  # ruler
    stats: RegionStats | None = None  # ellipse
    frame: Oblique | None = None  # the turned frame it was drawn in; None: a plain plane
    ends_mm: list[np.ndarray] = field(default_factory=list)  # with a frame: its ends in the scan (VTK world mm)

    @property
    def text(self) -> str:
        """The label drawn beside it."""
        if self.kind == Tool.RULER:
            return f"{self.length_mm:.1f} mm"
        return self.stats.label() if self.stats is not None else "no voxel inside"


def _closed_polyline(m: Measurement) -> vtkPolyData:
    """Polydata of one closed line through ELLIPSE_POINTS points (kept in ``m.source``)."""
    m.source = vtkPoints()
    m.source.SetNumberOfPoints(ELLIPSE_POINTS)
    lines = vtkCellArray()
    lines.InsertNextCell(ELLIPSE_POINTS + 1)
    for n in (*range(ELLIPSE_POINTS), 0):
        lines.InsertCellPoint(n)
    poly = vtkPolyData()
    poly.SetPoints(m.source)
    poly.SetLines(lines)
    return poly


class MeasureTools:
    """The measurements of one slice view and the mouse handling that draws them.

    Event: ``finished(record)`` when the reader finishes a measurement (not when one is restored).
    """

    def __init__(self, view: MeasuredView) -> None:
        self._view = view
        self.finished = Event()
        self.items: list[Measurement] = []
        self._active: Measurement | None = None
        self._press_at: QtCore.QPointF | None = None

    @property
    def pending(self) -> bool:
        """True while a measurement is being drawn (between its start and its end)."""
        return self._active is not None

    # ------------------------------------------------------------ geometry
    def _ijk(self, world: np.ndarray, index: int | None = None) -> np.ndarray:
        """Continuous voxel position (i, j, k) of a world point, on slice ``index`` (default: the
        view's)."""
        v = self._view
        ijk = np.asarray(world, float) / v.spacing
        ijk[v.plane.axis] = v.slice_index if index is None else index
        return ijk

    def _on_slice(self, world: np.ndarray, index: int | None = None) -> np.ndarray:
        """``world`` moved through-plane to just in front of slice ``index`` (default: the view's),
        as the crosshair is."""
        v = self._view
        a = v.plane.axis
        p = np.array(world, float)
        k = v.slice_index if index is None else index
        p[a] = (k - 0.5 * float(np.sign(v.plane.direction[a]))) * v.spacing[a]
        return p

    def _centre_mm(self) -> np.ndarray:
        """The crosshair in VTK world mm: the point the turned frame turns about."""
        return np.array(self._view.position[::-1], float) * self._view.spacing

    def _set_end(self, m: Measurement, end: int, world: np.ndarray) -> None:
        """Put end ``end`` (0 or 1) of ``m`` at the drawn point ``world``; on a turned plane also
        its scan point (the display point on the plane through the crosshair, turned back)."""
        drawn = self._on_slice(world)
        if m.frame is not None:
            centre = self._centre_mm()
            on_plane = np.array(world, float)
            on_plane[self._view.plane.axis] = centre[self._view.plane.axis]
            m.ends_mm[end] = m.frame.to_scan(on_plane, centre)
        if end == 0:
            m.p0 = drawn
        else:
            m.p1 = drawn

    def _place(self, m: Measurement) -> None:
        """Draw a turned measurement's ends where its scan points appear about the crosshair now."""
        centre = self._centre_mm()
        assert m.frame is not None
        m.p0, m.p1 = (self._on_slice(m.frame.to_display(s, centre)) for s in m.ends_mm)

    def _shown(self, m: Measurement, index: int) -> bool:
        """True when the view shows ``m``: a plain one on slice ``index`` of the plain plane, a
        turned one in its own frame with both ends within half a slice of the plane through the
        crosshair."""
        v = self._view
        frame = v.reading.oblique
        if m.frame is None:
            return not frame.active and m.slice_index == index
        a = v.plane.axis
        normal, centre = m.frame.rotation[:, a], self._centre_mm()
        return m.frame == frame and all(abs(float(normal @ (s - centre))) <= 0.5 * v.spacing[a] for s in m.ends_mm)

    def _ends_ijk(self, m: Measurement) -> tuple[np.ndarray, np.ndarray]:
        """``m``'s ends as continuous voxel positions (i, j, k) of the scan."""
        if m.frame is None:
            return self._ijk(m.p0, m.slice_index), self._ijk(m.p1, m.slice_index)
        return m.ends_mm[0] / self._view.spacing, m.ends_mm[1] / self._view.spacing

    def measure(self, m: Measurement) -> None:
        """Compute ``m``'s length or ROI statistics from its corners."""
        v = self._view
        a0, a1 = self._ends_ijk(m)
        if m.kind == Tool.RULER:
            m.length_mm = distance_mm(v.affine, a0, a1)
            return
        rows, cols = [ax for ax in (2, 1, 0) if ax != v.plane.axis]
        pixel_mm = np.linalg.norm(v.affine[:3, :3], axis=0)
        if m.frame is not None:
            m.stats = self._turned_ellipse_stats(m, (rows, cols), (pixel_mm[rows], pixel_mm[cols]))
            return
        centre, radii = (a0 + a1) / 2.0, np.abs(a1 - a0) / 2.0
        image = plane_image(v.voxels, v.plane.axis, m.slice_index)
        m.stats = ellipse_stats(image, (centre[rows], centre[cols]), (radii[rows], radii[cols]),
                                (pixel_mm[rows], pixel_mm[cols]))

    def _turned_ellipse_stats(self, m: Measurement, axes_rc: tuple[int, int],
                              pixel_mm_rc: tuple[float, float]) -> RegionStats | None:
        """The ellipse's statistics on the turned plane: its box is axis-aligned in the display
        frame, so its radii (in the plain slice's pixels) come from the ends turned back into it."""
        v = self._view
        assert m.frame is not None
        box_mm = np.abs(m.frame.rotation.T @ (m.ends_mm[1] - m.ends_mm[0]))
        radii = np.array([box_mm[ax] / 2.0 / v.spacing[ax] for ax in axes_rc])
        half = np.ceil(radii).astype(int) + 1  # a pixel beyond the ellipse on every side
        patch = turned_plane_patch(v.voxels, v.spacing, m.frame.rotation, (m.ends_mm[0] + m.ends_mm[1]) / 2.0,
                                   axes_rc, half)
        return ellipse_stats(patch, half, radii, pixel_mm_rc)

    # ------------------------------------------------------------ drawing
    def _new(self, kind: Tool, world: np.ndarray, frame: Oblique | None) -> Measurement:
        renderer = self._view.renderer
        m = Measurement(Tool(kind), self._view.slice_index, self._on_slice(world), self._on_slice(world), frame=frame)
        m.ends_mm = [np.zeros(3), np.zeros(3)] if frame is not None else []
        mapper = vtkPolyDataMapper()
        if kind == Tool.RULER:
            m.source = vtkLineSource()
            mapper.SetInputConnection(m.source.GetOutputPort())
        else:
            mapper.SetInputData(_closed_polyline(m))
        line = vtkActor()
        line.SetMapper(mapper)
        line.GetProperty().SetColor(*COLOR)
        line.GetProperty().SetLineWidth(2.0)
        label = vtkTextActor()
        label.GetPositionCoordinate().SetCoordinateSystemToWorld()
        tp = label.GetTextProperty()
        tp.SetFontSize(14)
        tp.SetColor(*COLOR)
        tp.ShadowOn()
        tp.BoldOn()
        renderer.AddActor(line)
        renderer.AddViewProp(label)
        m.actors = [line, label]
        return m

    def _redraw(self, m: Measurement) -> None:
        self.measure(m)
        self._draw(m)

    def _draw(self, m: Measurement) -> None:
        """Put ``m``'s line or ellipse and its label at its corners ``p0``, ``p1``."""
        if m.kind == Tool.RULER:
            m.source.SetPoint1(*m.p0)
            m.source.SetPoint2(*m.p1)
        else:
            a = self._view.plane.axis
            centre, half = (m.p0 + m.p1) / 2.0, np.abs(m.p1 - m.p0) / 2.0
            u, w = [ax for ax in (0, 1, 2) if ax != a]
            for n, t in enumerate(np.linspace(0.0, 2 * np.pi, ELLIPSE_POINTS, endpoint=False)):
                p = centre.copy()
                p[u] += half[u] * np.cos(t)
                p[w] += half[w] * np.sin(t)
                m.source.SetPoint(n, *p)
            m.source.Modified()
            m.actors[0].GetMapper().GetInput().Modified()
        label = m.actors[1]
        label.SetInput(m.text)
        label.GetPositionCoordinate().SetValue(*np.maximum(m.p0, m.p1))

    # ------------------------------------------------------------ mouse
    def press(self, kind: Tool, p: QtCore.QPointF) -> None:
        """Left press with a measuring tool: start a measurement, or end the one drawn by clicks."""
        world = self._view.to_world(p)
        if self._active is not None:
            self._finish(world)
            return
        frame = self._view.reading.oblique
        self._active = m = self._new(kind, world, frame if frame.active else None)
        self._set_end(m, 0, world)
        self._set_end(m, 1, world)
        self._press_at = p
        self._redraw(m)
        self._view.render_now()

    def move(self, p: QtCore.QPointF, tool: Tool) -> None:
        """The mouse moved while a measurement is drawn: its end follows (another ``tool``
        chosen meanwhile drops the unfinished measurement)."""
        if self._active is not None and tool != self._active.kind:
            self._remove(self._active)
            self._active = self._press_at = None
            self._view.render_now()
        elif self._active is not None:
            self._set_end(self._active, 1, self._view.to_world(p))
            self._redraw(self._active)
            self._view.render_now()

    def release(self, p: QtCore.QPointF) -> None:
        """Left release: a drag ends the measurement; a click leaves it open for a second click."""
        if self._active is None or self._press_at is None:
            return
        if np.hypot(p.x() - self._press_at.x(), p.y() - self._press_at.y()) > CLICK_PX:
            self._finish(self._view.to_world(p))

    def _finish(self, world: np.ndarray) -> None:
        m = self._active
        assert m is not None
        self._set_end(m, 1, world)
        self._redraw(m)
        self.items.append(m)
        self._active = self._press_at = None
        self._view.render_now()
        self.finished.emit(self.record(m))

    # ------------------------------------------------------------ records
    def record(self, m: Measurement) -> MeasurementRecord:
        """``m`` as a plain record (where it lies in the scan's voxel indices, what it measured,
        the turned frame it was drawn in)."""
        ijk0, ijk1 = (tuple(float(x) for x in ijk) for ijk in self._ends_ijk(m))
        stats = m.stats
        oblique = None if m.frame is None else tuple(float(x) for x in m.frame.rotation.ravel())
        return MeasurementRecord(str(m.kind), self._view.plane.name, m.slice_index, ijk0, ijk1, m.length_mm,
                                 None if stats is None else stats.mean, None if stats is None else stats.sd,
                                 None if stats is None else stats.area_mm2, oblique)

    def records(self) -> list[MeasurementRecord]:
        """Every finished measurement of this view as a record."""
        return [self.record(m) for m in self.items]

    def restore(self, records: list[MeasurementRecord]) -> None:
        """Draw again the records of this view's plane (a scan opened again); the view's scan
        must be the one they were drawn on. One drawn on an oblique plane is kept hidden until
        its turn shows its plane."""
        v = self._view
        for r in (r for r in records if r.plane == v.plane.name):
            frame = None if r.oblique is None else Oblique(np.reshape(np.asarray(r.oblique, float), (3, 3)))
            m = self._new(Tool(r.kind), np.multiply(r.ijk0, v.spacing), frame)
            m.slice_index = r.slice_index
            if frame is None:
                m.p0, m.p1 = (self._on_slice(np.multiply(ijk, v.spacing), r.slice_index) for ijk in (r.ijk0, r.ijk1))
            else:
                m.ends_mm = [np.multiply(ijk, v.spacing) for ijk in (r.ijk0, r.ijk1)]
                self._place(m)
            self._redraw(m)
            self.items.append(m)
        self.show_slice(v.slice_index)

    # ------------------------------------------------------------ slices
    def show_slice(self, index: int) -> None:
        """Show the measurements on the plane shown (slice ``index``, in the reading state's
        frame, through its crosshair) and hide the others."""
        for m in self.items:
            shown = self._shown(m, index)
            if shown and m.frame is not None:
                self._place(m)  # the cut moved with the crosshair: so do the ends
                self._draw(m)
            for actor in m.actors:
                actor.SetVisibility(shown)

    def clear(self) -> None:
        """Remove every measurement (and the one being drawn)."""
        for m in [*self.items, *([self._active] if self._active is not None else [])]:
            self._remove(m)
        self.items.clear()
        self._active = self._press_at = None

    def _remove(self, m: Measurement) -> None:
        for actor in m.actors:
            self._view.renderer.RemoveViewProp(actor)
