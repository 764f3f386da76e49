"""What a slice view draws over its image: the crosshair lines, the orientation letters and
a centred one-line message (also used by the 3D view)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from vtkmodules.vtkFiltersSources import vtkLineSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer, vtkTextActor

from ..models.planes import Plane

# 3D Slicer's colours: red = axial, green = coronal, yellow = sagittal.
PLANE_COLORS = {"axial": (0.95, 0.35, 0.35), "coronal": (0.45, 0.85, 0.4), "sagittal": (0.95, 0.85, 0.3)}

_AXIS_PLANES = {0: "sagittal", 1: "coronal", 2: "axial"}


class Crosshair:
    """One line per other plane, in that plane's colour, through the crosshair position."""

    def __init__(self, renderer: vtkRenderer, plane: Plane) -> None:
        self._axis = plane.axis
        # Half a slice toward the camera keeps the crosshair in front of the image.
        self._toward_camera = -0.5 * float(np.sign(plane.direction[plane.axis]))
        self._lines: dict[int, vtkLineSource] = {}
        self._actors: list[vtkActor] = []
        for axis in (a for a in (0, 1, 2) if a != plane.axis):
            src = vtkLineSource()
            mapper = vtkPolyDataMapper()
            mapper.SetInputConnection(src.GetOutputPort())
            actor = vtkActor()
            actor.SetMapper(mapper)
            actor.GetProperty().SetColor(*PLANE_COLORS[_AXIS_PLANES[axis]])
            actor.GetProperty().SetLineWidth(1.0)
            actor.VisibilityOff()
            renderer.AddActor(actor)
            self._lines[axis] = src
            self._actors.append(actor)

    def show(self) -> None:
        """Make the lines visible (they stay hidden until a volume is shown)."""
        for actor in self._actors:
            actor.VisibilityOn()

    def hide(self) -> None:
        """Hide the lines (no volume shown)."""
        for actor in self._actors:
            actor.VisibilityOff()

    def place(self, idx_xyz: Sequence[int], n_xyz: Sequence[int], spacing: np.ndarray) -> None:
        """Put the lines through voxel ``idx_xyz`` of a volume of ``n_xyz`` voxels (VTK axis order)."""
        a = self._axis
        # Each line lies in another plane, spanning the image in the remaining axis.
        for axis, src in self._lines.items():
            span = 3 - a - axis
            p1 = [0.0, 0.0, 0.0]
            p1[a] = (idx_xyz[a] + self._toward_camera) * spacing[a]
            p1[axis] = idx_xyz[axis] * spacing[axis]
            p2 = list(p1)
            p1[span] = -0.5 * spacing[span]
            p2[span] = (n_xyz[span] - 0.5) * spacing[span]
            src.SetPoint1(*p1)
            src.SetPoint2(*p2)


def add_edge_letters(renderer: vtkRenderer) -> dict[str, vtkTextActor]:
    """Hidden text actors for the orientation letters, keyed by edge (left/right/top/bottom)."""
    letters: dict[str, vtkTextActor] = {}
    anchors = {"left": (0.01, 0.5, 0, 1), "right": (0.99, 0.5, 2, 1),
               "top": (0.5, 0.98, 1, 2), "bottom": (0.5, 0.02, 1, 0)}
    for edge, (x, y, hj, vj) in anchors.items():
        actor = vtkTextActor()
        actor.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        actor.SetPosition(x, y)
        tp = actor.GetTextProperty()
        tp.SetFontSize(18)
        tp.BoldOn()
        tp.ShadowOn()
        tp.SetColor(1.0, 0.75, 0.3)
        tp.SetJustification(hj)
        tp.SetVerticalJustification(vj)
        actor.VisibilityOff()
        renderer.AddViewProp(actor)
        letters[edge] = actor
    return letters


def add_centred_message(renderer: vtkRenderer, y: float = 0.5) -> vtkTextActor:
    """A hidden one-line text actor centred at height ``y`` (0-1), e.g. why no image is drawn."""
    actor = vtkTextActor()
    actor.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    actor.SetPosition(0.5, y)
    tp = actor.GetTextProperty()
    tp.SetFontSize(16)
    tp.SetColor(0.85, 0.85, 0.9)
    tp.SetJustificationToCentered()
    tp.SetVerticalJustificationToCentered()
    actor.VisibilityOff()
    renderer.AddViewProp(actor)
    return actor


def thin_image_note(plane: Plane, shape_zyx: Sequence[int]) -> str | None:
    """A note when ``plane``'s image of a ``shape_zyx`` volume is one voxel high or wide."""
    n_xyz = tuple(shape_zyx)[::-1]
    thin = [a for a in (plane.right[0], plane.up[0]) if n_xyz[a] == 1]
    if not thin:
        return None
    return "Single slice: this view is one row of voxels" if 2 in thin else "The scan is one voxel thick in this view"
