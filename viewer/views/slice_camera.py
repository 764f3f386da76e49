"""Camera and picking maths of a slice view: fit the image, zoom and pan, and map widget pixels to
VTK world millimetres and back (VTK world = array index x spacing, origin 0)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6 import QtCore, QtWidgets
from vtkmodules.vtkRenderingCore import vtkRenderer

from ..models.events import Event
from ..models.planes import Plane


def fit_camera(renderer: vtkRenderer, plane: Plane, shape_zyx: Sequence[int], spacing: np.ndarray,
               width_px: int, height_px: int) -> None:
    """Centre the image of ``plane`` and fit it to a view of ``width_px`` x ``height_px``."""
    n_xyz = np.array([shape_zyx[2], shape_zyx[1], shape_zyx[0]], dtype=float)
    size = n_xyz * spacing
    center = (size - spacing) / 2.0
    cam = renderer.GetActiveCamera()
    diag = float(np.linalg.norm(size))
    dist = diag * 2.0 + 1.0
    cam.SetFocalPoint(*center)
    cam.SetPosition(*(center - np.array(plane.direction) * dist))
    cam.SetViewUp(*plane.view_up)
    cam.SetClippingRange(dist - diag, dist + diag)
    w, h = max(1, width_px), max(1, height_px)
    width_mm, height_mm = size[plane.right[0]], size[plane.up[0]]
    cam.SetParallelScale(1.02 * max(height_mm / 2.0, width_mm / 2.0 * h / w))


def widget_to_world(renderer: vtkRenderer, widget: QtWidgets.QWidget, p: QtCore.QPointF) -> np.ndarray:
    """World point (mm, VTK axes) under widget position ``p`` (logical pixels)."""
    dpr = widget.devicePixelRatioF()
    h = widget.height() * dpr
    renderer.SetDisplayPoint(p.x() * dpr, h - p.y() * dpr - 1, 0.0)
    renderer.DisplayToWorld()
    x, y, z, w = renderer.GetWorldPoint()
    return np.array([x, y, z]) / (w or 1.0)


def world_to_widget(renderer: vtkRenderer, widget: QtWidgets.QWidget, xyz: Sequence[float]) -> QtCore.QPointF:
    """Widget position (logical pixels) of a world point; inverse of :func:`widget_to_world`."""
    renderer.SetWorldPoint(*xyz, 1.0)
    renderer.WorldToDisplay()
    x, y, _ = renderer.GetDisplayPoint()
    dpr = widget.devicePixelRatioF()
    return QtCore.QPointF(x / dpr, (widget.height() * dpr - 1 - y) / dpr)


class SliceCamera:
    """A slice view's parallel-projection camera: fitted to the image, and kept fitted as the
    view resizes until the reader zooms or pans.

    Event: ``moved()`` after the reader zoomed or panned (a linked view follows).
    """

    def __init__(self, renderer: vtkRenderer, widget: QtWidgets.QWidget, plane: Plane) -> None:
        self._renderer = renderer
        self._widget = widget
        self._plane = plane
        self.fitted = True
        self.moved = Event()

    def fit(self, shape_zyx: Sequence[int], spacing: np.ndarray) -> None:
        """Centre the image and fit it to the widget, keeping the true pixel aspect ratio."""
        fit_camera(self._renderer, self._plane, shape_zyx, spacing, self._widget.width(), self._widget.height())
        self.fitted = True

    def zoom(self, dy: float) -> None:
        """Zoom in by 1 % per pixel dragged up (``dy`` < 0), out when dragged down."""
        cam = self._renderer.GetActiveCamera()
        cam.SetParallelScale(cam.GetParallelScale() * (1.01 ** dy))
        self.fitted = False
        self.moved.emit()

    def pan(self, delta_mm: np.ndarray) -> None:
        """Move the camera by ``delta_mm`` (world, VTK axes): the image moves the other way."""
        cam = self._renderer.GetActiveCamera()
        cam.SetFocalPoint(*(np.array(cam.GetFocalPoint()) + delta_mm))
        cam.SetPosition(*(np.array(cam.GetPosition()) + delta_mm))
        self.fitted = False
        self.moved.emit()
