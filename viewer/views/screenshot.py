"""Pictures of the views: one VTK view to PNG, the whole window from the screen, a blankness test.

``QWidget.grab()`` returns black for VTK's native render widgets, so a view is read back
from its render window and the whole window is grabbed from the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

if TYPE_CHECKING:
    from vtkmodules.vtkRenderingCore import vtkRenderWindow


def save_render_window_png(render_window: vtkRenderWindow, path: str | Path) -> None:
    """Render ``render_window`` and write its back buffer to a PNG file."""
    from vtkmodules.vtkIOImage import vtkPNGWriter
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    render_window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(render_window)
    grab.ReadFrontBufferOff()
    grab.Update()
    writer = vtkPNGWriter()
    writer.SetFileName(str(path))
    writer.SetInputConnection(grab.GetOutputPort())
    writer.Write()


def grab_from_screen(widget: QtWidgets.QWidget) -> QtGui.QImage:
    """What the screen shows where ``widget`` is (VTK views included)."""
    QtWidgets.QApplication.processEvents()
    top_left = widget.mapToGlobal(QtCore.QPoint(0, 0))
    screen = widget.screen() or QtGui.QGuiApplication.primaryScreen()
    origin = screen.geometry().topLeft()
    pixmap = screen.grabWindow(0, top_left.x() - origin.x(), top_left.y() - origin.y(),
                               widget.width(), widget.height())
    return pixmap.toImage()


def image_std(image: QtGui.QImage, rect: QtCore.QRect | None = None) -> float:
    """Standard deviation of the grey values of ``image`` (optionally a sub-rectangle)."""
    if rect is not None:
        image = image.copy(rect)
    img = image.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)[:, :w]
    return float(arr.std())
