"""One 2D slice view (axial, coronal or sagittal): VTK image slice (or a thick slab's projection,
:mod:`.slab_image`, or an oblique plane, :mod:`.oblique`), crosshair, orientation letters, corner
text and a scroller. It draws the shared :class:`~viewer.models.reading.ReadingState`: it follows
its crosshair and window, and moves its crosshair when the reader steps, scrolls or clicks.

Mouse: wheel = next/previous slice; left = set the crosshair (navigate tool), drag the
window/level (window/level tool) or draw a ruler / ellipse ROI (measuring tools, see
:mod:`viewer.views.measurements`); Ctrl+left-drag = turn the crosshair (oblique planes);
right-drag = zoom; middle-drag = pan. Keys: :mod:`viewer.views.slice_keys`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkRenderingCore import vtkImageSlice, vtkImageSliceMapper, vtkRenderer

from inference.measure import slice_position_label

from ..models.planes import Plane
from ..models.reading import MEASURE_TOOLS, ReadingState, Tool
from ..models.slab import Slab
from ..models.window_level import WindowLevel
from .corner_text import CornerText
from .measurements import MeasureTools
from .oblique import ObliqueSlice
from .scale_bar import ScaleBar
from .screenshot import save_render_window_png
from .slice_camera import SliceCamera, widget_to_world, world_to_widget
from .slice_keys import slice_key_target
from .slab_image import SlabImage
from .slice_overlay import PLANE_COLORS, Crosshair, EdgeLetters, add_centred_message, thin_image_note
from .vtk_canvas import VtkCanvas


class _SliceCanvas(VtkCanvas):
    """Render widget whose mouse events go to the owning :class:`SliceView`, not to VTK."""

    def __init__(self, view: "SliceView") -> None:
        super().__init__(view)
        self._view = view

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._view._mouse_press(ev)

    def mouseMoveEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._view._mouse_move(ev)

    def mouseReleaseEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._view._mouse_release(ev)

    def wheelEvent(self, ev: QtGui.QWheelEvent) -> None:  # noqa: N802
        self._view._wheel(ev)

    def leaveEvent(self, ev: QtCore.QEvent) -> None:  # noqa: N802
        self._view.cursorMoved.emit(None)

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._view._on_resize()


class SliceView(QtWidgets.QWidget):
    """A slice view of one plane, linked to the others through the shared ``reading`` state.

    Signals carry array indices ``(k, j, i)``.
    """

    windowDragged = Signal(float, float)  # (dx, dy) pixels dragged with the window/level tool
    cursorMoved = Signal(object)  # (k, j, i) under the mouse, or None when outside the image

    def __init__(self, plane: Plane, reading: ReadingState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plane = plane
        self.reading = reading
        self._shape: tuple[int, int, int] | None = None  # (nz, ny, nx)
        self._spacing = np.ones(3)  # (dx, dy, dz) in VTK axis order
        self.affine = np.eye(4)  # (i, j, k, 1) -> LPS mm, for measurements and the slice position
        self.voxels: np.ndarray | None = None  # [k, j, i] HU, shared with the VTK image
        self._pos: list[int] = [0, 0, 0]  # (k, j, i)
        self._drag: tuple[Qt.MouseButton, QtCore.QPointF] | None = None
        self._render_pending = False

        self.canvas = _SliceCanvas(self)
        self.scroller = QtWidgets.QScrollBar(Qt.Orientation.Vertical, self)
        self.scroller.setObjectName(f"{plane.name}_scroller")
        self.scroller.setToolTip(f"{plane.name.capitalize()} slice")
        self.scroller.setEnabled(False)
        # Superior at the top of the axial scroller, as the images are stacked.
        self.scroller.setInvertedAppearance(plane.name == "axial")
        self.scroller.valueChanged.connect(self._on_scroller)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.scroller)
        self._layout = layout
        self._build_scene()
        reading.position_changed.connect(self._on_position)
        reading.window_changed.connect(self._on_window)
        reading.slab_changed.connect(self._on_slab)
        reading.oblique_changed.connect(self._on_slab)  # the turned frame: cut the planes again

    def add_beside_scroller(self, widget: QtWidgets.QWidget) -> None:
        """Put ``widget`` (e.g. the TG-IS heat strip) between the image and the scroller."""
        self._layout.insertWidget(1, widget)

    # ----------------------------------------------------------------- scene
    def _build_scene(self) -> None:
        # One renderer only: a second layer for the overlay doubled the frame time on llvmpipe.
        # The crosshair lies a little in front of the slice; texts are 2D actors (drawn last).
        rw = self.canvas.GetRenderWindow()
        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0, 0, 0)
        rw.AddRenderer(self.renderer)
        self.renderer.GetActiveCamera().ParallelProjectionOn()
        self.camera = SliceCamera(self.renderer, self.canvas, self.plane)

        self.slab = SlabImage(self.plane)  # the projected plane, while the reading state asks for a slab
        self.oblique = ObliqueSlice(self.plane, self.reading, self.canvas, lambda: self.widget_point_of(self._pos))
        self._image: vtkImageData | None = None
        self.mapper = vtkImageSliceMapper()
        self.mapper.SetOrientation(self.plane.axis)
        self.mapper.SliceAtFocalPointOff()
        self.mapper.SliceFacesCameraOff()
        self.image_actor = vtkImageSlice()
        self.image_actor.SetMapper(self.mapper)
        prop = self.image_actor.GetProperty()
        prop.SetInterpolationTypeToLinear()
        self.image_actor.VisibilityOff()
        self.renderer.AddViewProp(self.image_actor)

        self._crosshair = Crosshair(self.renderer, self.plane)
        self._letters = EdgeLetters(self.renderer, self.plane, self.reading)  # follow an oblique turn
        self.message = add_centred_message(self.renderer, y=0.6)  # above a one-row image

        # Fixed-size text actors: vtkCornerAnnotation re-fits its font on every change (slow).
        self.corner = CornerText(self.renderer, PLANE_COLORS[self.plane.name])
        self.corner.SetText(2, self.plane.name.capitalize())
        self.scale_bar = ScaleBar(self.renderer)
        self.measure = MeasureTools(self)

    # ----------------------------------------------------------------- data
    def set_image(self, image: vtkImageData, shape_zyx: Sequence[int], axis_codes: str = "LPS",
                  affine: np.ndarray | None = None) -> None:
        """Show a new volume (a vtkImageData from :func:`viewer.views.vtk_data.to_vtk_image`) whose
        voxels map to LPS mm through ``affine`` (default: the image's spacing, no rotation).

        A one-voxel axis is fine (a single slice's coronal view is a one-row strip); an image
        whose size does not match ``shape_zyx`` or is empty is not handed to VTK.
        """
        shape = tuple(int(n) for n in shape_zyx)
        if min(shape) < 1 or tuple(image.GetDimensions()) != shape[::-1]:
            self.show_nothing(f"No image to show ({' x '.join(map(str, shape[::-1]))} voxels)")
            return
        self._shape = shape  # type: ignore[assignment]
        note = thin_image_note(self.plane, shape)  # e.g. a single slice's coronal view
        self.message.SetInput(note or "")
        self.message.SetVisibility(note is not None)
        self._spacing = np.array(image.GetSpacing(), dtype=float)
        self.affine = np.diag([*self._spacing, 1.0]) if affine is None else np.asarray(affine, float)
        self.voxels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(shape)
        self.measure.clear()
        self._image = image
        self.slab.forget()
        self.mapper.SetInputData(image)
        self.image_actor.VisibilityOn()
        self.scale_bar.set_visible(True)
        self._crosshair.show()
        self._letters.show(axis_codes, self.affine, self._spacing)
        n = self.n_slices
        with QtCore.QSignalBlocker(self.scroller):
            self.scroller.setRange(0, n - 1)
            self.scroller.setPageStep(max(1, n // 10))
            self.scroller.setEnabled(True)
        self._pos = [s // 2 for s in self._shape]
        self._apply_position(self._pos, force=True)
        self.reset_camera(render=False)

    def show_nothing(self, message: str) -> None:
        """Hide the image, crosshair and letters; show ``message`` instead."""
        self._shape = None
        self.voxels = None
        self._image = None
        self.measure.clear()
        self.scale_bar.set_visible(False)
        self.mapper.RemoveAllInputs()
        self.image_actor.VisibilityOff()
        self._crosshair.hide()
        self._letters.hide()
        self.scroller.setEnabled(False)
        self.message.SetInput(message)
        self.message.VisibilityOn()

    @property
    def n_slices(self) -> int:
        """Number of slices along this view's axis (0 without a volume)."""
        return 0 if self._shape is None else self._shape[self.plane.array_axis]

    @property
    def slice_index(self) -> int:
        """Index of the slice shown (along this plane's array axis)."""
        return self._pos[self.plane.array_axis]

    @property
    def position(self) -> tuple[int, int, int]:
        """The crosshair position ``(k, j, i)`` this view shows."""
        return tuple(self._pos)  # type: ignore[return-value]

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size (dx, dy, dz) in mm, in VTK axis order."""
        return self._spacing

    def set_slice(self, index: int) -> bool:
        """Show slice ``index`` (clipped) now and move the shared crosshair there (the linked
        views follow when the event loop is idle); True when the slice changed."""
        pos = list(self._pos)
        pos[self.plane.array_axis] = index
        if self._shape is None or not self._apply_position(pos):
            return False
        self.render_now()
        self.reading.set_position(self._pos)
        return True

    def step(self, delta: int) -> bool:
        """Move ``delta`` slices (see :meth:`set_slice`)."""
        return self.set_slice(self.slice_index + delta)

    def _on_position(self, pos_kji: Sequence[int]) -> None:
        # The shared crosshair moved: show it when the event loop is idle.
        if self._shape is not None and self._apply_position(pos_kji):
            self.request_render()

    def render_now(self) -> None:
        """Render now (a render requested for later is then not needed)."""
        self._render_pending = False
        self.canvas.render_now()

    def request_render(self) -> None:
        """Render once the event loop is idle; many requests before then make one render (so the
        wheel in one view renders it on every notch and the linked ones once per loop pass)."""
        if not self._render_pending:
            self._render_pending = True
            QtCore.QTimer.singleShot(0, self, self.render_if_requested)

    def render_if_requested(self) -> None:
        """Render now when a render was requested and has not happened yet."""
        if self._render_pending:
            self.render_now()

    def _apply_position(self, pos_kji: Sequence[int], force: bool = False) -> bool:
        assert self._shape is not None
        pos = [int(np.clip(p, 0, n - 1)) for p, n in zip(pos_kji, self._shape)]
        if pos == self._pos and not force:
            return False
        self._pos = pos
        a = self.plane.axis
        idx_xyz = (pos[2], pos[1], pos[0])
        slab = self.reading.slab  # the slab projected around this slice, or the volume itself
        image = (self.oblique.show(self._image, idx_xyz, slab) if self.reading.oblique.active  # turned plane
                 else self.slab.show(self.voxels, self._spacing, idx_xyz[a], slab) if slab.active else self._image)
        if self.mapper.GetInput() is not image:
            self.mapper.SetInputData(image)
        self.mapper.SetSliceNumber(idx_xyz[a])
        n_xyz = (self._shape[2], self._shape[1], self._shape[0])
        self._crosshair.place(idx_xyz, n_xyz, self._spacing)
        where = slice_position_label(self.affine, idx_xyz, a)
        named = (f"  {slab}" if slab.active else "") + ("  oblique" if self.reading.oblique.active else "")
        self.corner.SetText(2, f"{self.plane.name.capitalize()}  {idx_xyz[a] + 1}/{n_xyz[a]}{named}\n{where}")
        self.measure.show_slice(idx_xyz[a])
        if self.scroller.value() != idx_xyz[a]:
            with QtCore.QSignalBlocker(self.scroller):
                self.scroller.setValue(idx_xyz[a])
        return True

    def _on_slab(self, _slab: Slab) -> None:
        # The slab changed: project it (or go back to the slice) and draw when the loop is idle.
        if self._shape is not None:
            self._apply_position(self._pos, force=True)
            self.request_render()

    def _on_window(self, wl: WindowLevel) -> None:
        # The display window (HU) changed: drawn when the event loop is idle.
        prop = self.image_actor.GetProperty()
        prop.SetColorWindow(wl.width)
        prop.SetColorLevel(wl.level)
        self.corner.SetText(0, str(wl))
        self.request_render()

    def window(self) -> tuple[float, float]:
        """The (width, level) in use."""
        prop = self.image_actor.GetProperty()
        return prop.GetColorWindow(), prop.GetColorLevel()

    # ----------------------------------------------------------------- camera
    def reset_camera(self, render: bool = True) -> None:
        """Centre the image and fit it to the view, keeping the true pixel aspect ratio."""
        if self._shape is None:
            return
        self.camera.fit(self._shape, self._spacing)
        if render:
            self.canvas.render_now()

    def _on_resize(self) -> None:
        if self.camera.fitted and self._shape is not None:
            self.reset_camera(render=False)

    # ----------------------------------------------------------------- picking
    def to_world(self, p: QtCore.QPointF) -> np.ndarray:
        """World point (mm, VTK axes) under widget position ``p`` (logical pixels)."""
        return widget_to_world(self.renderer, self.canvas, p)

    def index_at(self, p: QtCore.QPointF) -> tuple[int, int, int] | None:
        """Array index ``(k, j, i)`` under widget position ``p``, or None outside the image."""
        if self._shape is None:
            return None
        xyz = self.oblique.index_at(self.to_world(p), self._pos, self._spacing)  # through the turned frame
        kji = (int(xyz[2]), int(xyz[1]), int(xyz[0]))
        if any(not 0 <= v < n for v, n in zip(kji, self._shape)):
            return None
        return kji

    def widget_point_of(self, kji: Sequence[int]) -> QtCore.QPointF:
        """Widget position (logical pixels) of array index ``(k, j, i)``; inverse of index_at."""
        return world_to_widget(self.renderer, self.canvas, np.array([kji[2], kji[1], kji[0]], float) * self._spacing)

    # ----------------------------------------------------------------- mouse
    def _mouse_press(self, ev: QtGui.QMouseEvent) -> None:
        self.canvas.setFocus()
        self._drag = (ev.button(), ev.position())
        tool = self.reading.tool
        if ev.button() == Qt.MouseButton.LeftButton and tool == Tool.NAVIGATE:
            self._pick(ev.position())
        elif ev.button() == Qt.MouseButton.LeftButton and tool in MEASURE_TOOLS and self._shape is not None:
            self.measure.press(tool, ev.position())

    def _mouse_move(self, ev: QtGui.QMouseEvent) -> None:
        p = ev.position()
        tool = self.reading.tool
        self.cursorMoved.emit(self.index_at(p))
        self.measure.move(p, tool)
        if self._drag is None:
            return
        button, last = self._drag
        self._drag = (button, p)
        if button == Qt.MouseButton.LeftButton and tool not in MEASURE_TOOLS:
            if tool == Tool.WINDOW_LEVEL:
                self.windowDragged.emit(p.x() - last.x(), p.y() - last.y())
            else:
                self._pick(p)
        elif button == Qt.MouseButton.RightButton:
            self.camera.zoom(p.y() - last.y())  # drag up = zoom in
            self.canvas.render_now()
        elif button == Qt.MouseButton.MiddleButton:
            self.camera.pan(self.to_world(last) - self.to_world(p))
            self.canvas.render_now()

    def _mouse_release(self, ev: QtGui.QMouseEvent) -> None:
        self._drag = None
        if ev.button() == Qt.MouseButton.LeftButton:
            self.measure.release(ev.position())

    def _pick(self, p: QtCore.QPointF) -> None:
        kji = self.index_at(p)
        if kji is not None:
            self.reading.set_position(kji)

    def _wheel(self, ev: QtGui.QWheelEvent) -> None:
        delta = ev.angleDelta().y()
        if delta:
            self.step(1 if delta > 0 else -1)
        ev.accept()

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802
        """The slice keys of :data:`~viewer.views.slice_keys.SLICE_KEYS`; other keys go on to the window."""
        target = slice_key_target(Qt.Key(ev.key()), self.slice_index, self.n_slices)
        if target is None or self._shape is None:
            super().keyPressEvent(ev)
            return
        self.step(target - self.slice_index)
        ev.accept()

    def _on_scroller(self, value: int) -> None:
        if self._shape is not None and value != self.slice_index:
            self.set_slice(value)

    # ----------------------------------------------------------------- output
    def save_png(self, path: str) -> None:
        """Write this view as rendered (without the scroller) to a PNG file."""
        save_render_window_png(self.canvas.GetRenderWindow(), path)
