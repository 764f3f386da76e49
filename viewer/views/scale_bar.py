"""A scale bar in the lower right of a slice view, sized to the zoom before every render.

Its length is the longest 1, 2 or 5 x 10^n mm that fits a quarter of the view's width, with
end ticks and a label in mm or cm (:func:`inference.measure.nice_length`).
"""

from __future__ import annotations

from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D, vtkRenderer, vtkTextActor

from inference.measure import length_label, nice_length

MARGIN_PX = 12
TICK_PX = 6
MAX_FRACTION = 0.25  # of the view's width


class ScaleBar:
    """Bar and label (2D actors, display pixels) that follow the camera's parallel scale."""

    def __init__(self, renderer: vtkRenderer, color: tuple[float, float, float] = (0.9, 0.9, 0.9)) -> None:
        self._renderer = renderer
        self.length_mm = 0.0
        self.length_px = 0.0
        self._points = vtkPoints()
        self._points.SetNumberOfPoints(6)
        lines = vtkCellArray()
        for a, b in ((0, 1), (2, 3), (4, 5)):  # bar, left tick, right tick
            lines.InsertNextCell(2)
            lines.InsertCellPoint(a)
            lines.InsertCellPoint(b)
        poly = vtkPolyData()
        poly.SetPoints(self._points)
        poly.SetLines(lines)
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        self.bar = vtkActor2D()
        self.bar.SetMapper(mapper)
        self.bar.GetProperty().SetColor(*color)
        self.bar.GetProperty().SetLineWidth(2.0)
        self.label = vtkTextActor()
        tp = self.label.GetTextProperty()
        tp.SetFontSize(13)
        tp.SetColor(*color)
        tp.ShadowOn()
        tp.SetJustificationToCentered()
        for actor in (self.bar, self.label):
            actor.VisibilityOff()
            renderer.AddViewProp(actor)
        renderer.AddObserver("StartEvent", lambda _o, _e: self.update())

    def set_visible(self, visible: bool) -> None:
        """Show the bar (a volume is shown) or hide it."""
        self.bar.SetVisibility(visible)
        self.label.SetVisibility(visible)

    def mm_per_pixel(self) -> float:
        """Millimetres per display pixel at the current zoom (parallel projection)."""
        height = max(1, self._renderer.GetSize()[1])
        return 2.0 * self._renderer.GetActiveCamera().GetParallelScale() / height

    def update(self) -> None:
        """Resize the bar to the current zoom (called before each render)."""
        if not self.bar.GetVisibility():
            return
        width, _ = self._renderer.GetSize()
        mm_px = self.mm_per_pixel()
        if width < 4 * MARGIN_PX or mm_px <= 0:
            return
        self.length_mm = nice_length(MAX_FRACTION * width * mm_px)
        self.length_px = self.length_mm / mm_px
        x1 = width - MARGIN_PX - 60  # clear of the lower right corner text
        x0, y = x1 - self.length_px, MARGIN_PX + 4
        for n, (x, yy) in enumerate(((x0, y), (x1, y), (x0, y - TICK_PX), (x0, y + TICK_PX),
                                     (x1, y - TICK_PX), (x1, y + TICK_PX))):
            self._points.SetPoint(n, x, yy, 0.0)
        self._points.Modified()
        self.label.SetInput(length_label(self.length_mm))
        self.label.SetPosition((x0 + x1) / 2.0, y + TICK_PX + 2)
