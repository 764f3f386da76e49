"""Fixed-size texts in the corners of a VTK view.

vtkCornerAnnotation re-fits its font size on every change, which costs milliseconds per slice
step on a software renderer; plain text actors with a fixed size do not.
"""

from __future__ import annotations

from vtkmodules.vtkRenderingCore import vtkRenderer, vtkTextActor


class CornerText:
    """Shadowed texts in the corners of a view (0 lower left, 1 lower right, 2 upper left, 3 upper right)."""

    def __init__(self, renderer: vtkRenderer, color: tuple[float, float, float], size: int = 14) -> None:
        self._actors: list[vtkTextActor] = []
        places = ((0.01, 0.01, 0, 0), (0.99, 0.01, 2, 0), (0.01, 0.99, 0, 2), (0.99, 0.99, 2, 2))
        for x, y, hj, vj in places:
            actor = vtkTextActor()
            actor.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
            actor.SetPosition(x, y)
            tp = actor.GetTextProperty()
            tp.SetFontSize(size)
            tp.SetColor(*color)
            tp.ShadowOn()  # a dark offset copy keeps the text readable over bright bone
            tp.SetJustification(hj)
            tp.SetVerticalJustification(vj)
            renderer.AddViewProp(actor)
            self._actors.append(actor)

    def SetText(self, corner: int, text: str) -> None:  # noqa: N802 (vtkCornerAnnotation's API)
        """Set the text of one corner."""
        if self._actors[corner].GetInput() != text:
            self._actors[corner].SetInput(text)

    def GetText(self, corner: int) -> str:  # noqa: N802
        """The text of one corner."""
        return self._actors[corner].GetInput() or ""
