"""A slice view's oblique plane (:mod:`viewer.models.oblique`): vtkImageReslice cuts the plane
through the crosshair along the turned axes, and Ctrl+drag turns the crosshair in the view.

The resliced image has the plain slice's geometry (the same extent, spacing and origin, one
voxel thick at the crosshair's slice), so the view's mapper, camera, crosshair and letters work
on it unchanged: only the voxels in it come from the turned plane.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkImagingCore import vtkImageReslice

from ..models.planes import Plane
from ..models.reading import ReadingState
from ..models.slab import Slab, SlabMode, slab_range


def _vtk_matrix(m: np.ndarray) -> vtkMatrix4x4:
    out = vtkMatrix4x4()
    out.DeepCopy(np.asarray(m, float).ravel().tolist())
    return out


class ObliqueSlice:
    """The turned plane of one slice view, the voxel under a point of the view, and the view's
    Ctrl+drag (:class:`CrosshairTurn`; ``crosshair_at``: the crosshair's widget point)."""

    def __init__(self, plane: Plane, reading: ReadingState, canvas: QtWidgets.QWidget,
                 crosshair_at: Callable[[], QtCore.QPointF]) -> None:
        self.plane = plane
        self.reading = reading
        self.turn = CrosshairTurn(canvas, plane, reading, crosshair_at)
        self.reslice = vtkImageReslice()
        self.reslice.SetInterpolationModeToLinear()
        self.reslice.SetOutputDimensionality(3)  # one voxel thick along the view's axis
        self._input: vtkImageData | None = None
        # The cut runs when the view renders, not when the crosshair moves: a linked view moved by
        # the wheel in another one cuts once per loop pass, and a hidden view not at all.
        self._stale = False
        canvas.GetRenderWindow().AddObserver("StartEvent", self._cut_if_stale)

    def show(self, image: vtkImageData, idx_xyz: Sequence[int], slab: Slab) -> vtkImageData:
        """The plane through voxel ``idx_xyz`` (i, j, k) of ``image`` along the reading state's
        turned axes, as a one-slice image where the plain slice would be; a thick ``slab`` is
        projected along the turned normal (vtkImageReslice's slab mode). Cut when the view next
        renders."""
        if image is not self._input:
            self._input = image
            self.reslice.SetInputData(image)
            self.reslice.SetBackgroundLevel(image.GetScalarRange()[0])  # outside the scan: its darkest value
        spacing = np.array(image.GetSpacing(), float)
        centre = np.asarray(idx_xyz, float) * spacing
        self.reslice.SetResliceAxes(_vtk_matrix(self.reading.oblique.reslice_axes(centre)))
        a = self.plane.axis
        dims = image.GetDimensions()
        extent = [0, dims[0] - 1, 0, dims[1] - 1, 0, dims[2] - 1]
        extent[2 * a] = extent[2 * a + 1] = int(idx_xyz[a])
        self.reslice.SetOutputExtent(*extent)
        self.reslice.SetOutputSpacing(*spacing)
        self.reslice.SetOutputOrigin(0.0, 0.0, 0.0)
        self._set_slab(slab, int(idx_xyz[a]), dims[a], float(spacing[a]))
        self._stale = True
        return self.reslice.GetOutput()

    def _cut_if_stale(self, _obj: object = None, _event: str = "") -> None:
        if self._stale:
            self._stale = False
            self.reslice.Update()

    def _set_slab(self, slab: Slab, index: int, n_slices: int, spacing_mm: float) -> None:
        # As many slices as the plain slab projects, at the same spacing along the turned normal.
        lo, hi = slab_range(index, n_slices, spacing_mm, slab.thickness_mm) if slab.active else (index, index)
        self.reslice.SetSlabNumberOfSlices(hi - lo + 1)
        mode = {SlabMode.MIP: self.reslice.SetSlabModeToMax, SlabMode.MINIP: self.reslice.SetSlabModeToMin}
        mode.get(slab.mode, self.reslice.SetSlabModeToMean)()

    def index_at(self, display_mm: np.ndarray, pos_kji: Sequence[int], spacing: np.ndarray) -> np.ndarray:
        """The voxel (i, j, k), rounded, drawn at ``display_mm`` (VTK world mm on this view's
        plane) while the crosshair is at ``pos_kji``."""
        centre = np.array(pos_kji[::-1], float) * spacing
        point = np.array(display_mm, float)
        point[self.plane.axis] = centre[self.plane.axis]  # on the plane shown
        if self.reading.oblique.active:
            point = self.reading.oblique.to_scan(point, centre)
        return np.rint(point / spacing).astype(int)


class CrosshairTurn(QtCore.QObject):
    """Ctrl+left-drag in a slice view turns its crosshair about the crosshair point by the angle
    the mouse sweeps around it (the other views then cut along the turned lines). The lines stay
    straight across the views: relative to them the image turns the other way."""

    def __init__(self, canvas: QtWidgets.QWidget, plane: Plane, reading: ReadingState,
                 crosshair_at: Callable[[], QtCore.QPointF]) -> None:
        super().__init__(canvas)
        self.plane = plane
        self.reading = reading
        self._crosshair_at = crosshair_at
        self._last: float | None = None  # the mouse's angle (degrees) around the crosshair
        # A right-handed turn about the view's axis looks counter-clockwise where the axis points
        # at the reader (the camera looks along -axis).
        self._sign = 1.0 if plane.direction[plane.axis] < 0 else -1.0
        canvas.installEventFilter(self)

    def _angle(self, p: QtCore.QPointF) -> float:
        c = self._crosshair_at()
        return math.degrees(math.atan2(-(p.y() - c.y()), p.x() - c.x()))  # counter-clockwise on screen

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802
        kind = ev.type()
        if kind == QtCore.QEvent.Type.MouseButtonPress and self.reading.scan is not None:
            assert isinstance(ev, QtGui.QMouseEvent)
            if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self._last = self._angle(ev.position())
                return True
        elif kind == QtCore.QEvent.Type.MouseMove and self._last is not None:
            assert isinstance(ev, QtGui.QMouseEvent)
            angle = self._angle(ev.position())
            swept = (angle - self._last + 180.0) % 360.0 - 180.0
            self._last = angle
            self.reading.set_oblique(self.reading.oblique.turned(self.plane.axis, self._sign * swept))
            return True
        elif kind == QtCore.QEvent.Type.MouseButtonRelease and self._last is not None:
            self._last = None
            return True
        return super().eventFilter(obj, ev)
