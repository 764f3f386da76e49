"""A Qt widget hosting one VTK render window, with a render counter and no VTK key bindings.

Importing this module also routes VTK's own messages (errors, warnings, its console or
warnings window) to the ``viewer.vtk`` logger.
"""

from __future__ import annotations

import logging

import vtkmodules.qt

vtkmodules.qt.PyQtImpl = "PySide6"

# Registers the OpenGL factories (render windows, volume mappers, text) with VTK.
import vtkmodules.vtkInteractionStyle  # noqa: E402,F401
import vtkmodules.vtkRenderingFreeType  # noqa: E402,F401
import vtkmodules.vtkRenderingOpenGL2  # noqa: E402,F401
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: E402,F401
from PySide6 import QtGui, QtWidgets  # noqa: E402
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor  # noqa: E402
from vtkmodules.util.misc import calldata_type  # noqa: E402
from vtkmodules.vtkCommonCore import VTK_STRING, vtkLogger, vtkOutputWindow  # noqa: E402

log = logging.getLogger("viewer.vtk")
_observers: list = []  # keeps the Python callbacks alive


def route_vtk_output_to_logging() -> None:
    """Send VTK's error/warning/text output to :data:`log` instead of stderr or a popup window
    (idempotent)."""
    if _observers:
        return
    out = vtkOutputWindow.GetInstance()
    out.SetDisplayModeToNever()  # no console text, no warnings window
    out.PromptUserOff()
    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_OFF)  # VTK's second, coloured copy
    for event, level in (("ErrorEvent", logging.ERROR), ("WarningEvent", logging.WARNING),
                         ("TextEvent", logging.INFO)):
        @calldata_type(VTK_STRING)
        def forward(_obj: object, _event: str, text: str, level: int = level) -> None:
            log.log(level, "%s", str(text).strip())

        _observers.append((out.AddObserver(event, forward), forward))


route_vtk_output_to_logging()


class VtkCanvas(QVTKRenderWindowInteractor):
    """QVTKRenderWindowInteractor that counts its renders and leaves keys to the Qt window.

    VTK's default key bindings (``e`` quits, ``w`` wireframe, ``3`` stereo) would fight the
    viewer's shortcuts, so key events are passed up to the parent widget instead.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.render_count = 0
        # VTK asks for 8x MSAA by default: on Mesa's llvmpipe that alone costs ~2.5x per frame,
        # and images, lines and ray-cast volumes gain nothing from it.
        self.GetRenderWindow().SetMultiSamples(0)
        # Blit the finished frame into the bound (window) framebuffer instead of re-binding the
        # hardware back buffer: same picture, ~4 ms less per frame on llvmpipe under Xvfb.
        self.GetRenderWindow().SetFrameBlitModeToBlitToCurrent()
        self.GetRenderWindow().AddObserver("StartEvent", self._count_render)

    def _count_render(self, _obj, _event) -> None:
        self.render_count += 1

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802 (Qt naming)
        ev.ignore()

    def keyReleaseEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802
        ev.ignore()

    def render_now(self) -> None:
        """Render synchronously (no-op until the widget has been shown)."""
        if self.isVisible():
            self.GetRenderWindow().Render()

    def to_array(self) -> "np.ndarray":
        """The current frame as an ``(h, w, 3)`` uint8 array, top row first (renders first)."""
        import numpy as np
        from vtkmodules.util.numpy_support import vtk_to_numpy
        from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

        rw = self.GetRenderWindow()
        rw.Render()
        grab = vtkWindowToImageFilter()
        grab.SetInput(rw)
        grab.SetInputBufferTypeToRGB()
        grab.ReadFrontBufferOff()
        grab.Update()
        img = grab.GetOutput()
        w, h, _ = img.GetDimensions()
        arr = vtk_to_numpy(img.GetPointData().GetScalars()).reshape(h, w, -1)
        return np.ascontiguousarray(arr[::-1, :, :3])

    def opengl_renderer(self) -> str:
        """The OpenGL renderer string (e.g. ``llvmpipe (LLVM 15...)``); empty when unknown."""
        caps = self.GetRenderWindow().ReportCapabilities() or ""
        for line in caps.splitlines():
            if line.lower().startswith("opengl renderer string"):
                return line.split(":", 1)[1].strip()
        return ""
