"""What a slice view draws over its image: the crosshair lines, the orientation letters (which
follow an oblique turn) and a centred one-line message (also used by the 3D view)."""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence

import numpy as np
from vtkmodules.vtkFiltersSources import vtkLineSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderer, vtkTextActor

from ..models.oblique import Oblique
from ..models.oblique_letters import edge_letters_for
from ..models.planes import Plane
from ..models.reading import ReadingState

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


class EdgeLetters(Mapping[str, vtkTextActor]):
    """The orientation letters of a slice view, by edge (left/right/top/bottom): the plain plane's,
    or the turned plane's while the reading state's frame is turned (they follow
    ``reading.oblique_changed``; the view renders on that event itself)."""

    def __init__(self, renderer: vtkRenderer, plane: Plane, reading: ReadingState) -> None:
        self._actors = add_edge_letters(renderer)
        self._plane = plane
        self._reading = reading
        self._scan: tuple[str, np.ndarray, np.ndarray] | None = None  # axis codes, affine, spacing; None: hidden
        reading.oblique_changed.connect(self._follow)

    def __getitem__(self, edge: str) -> vtkTextActor:
        return self._actors[edge]

    def __iter__(self) -> Iterator[str]:
        return iter(self._actors)

    def __len__(self) -> int:
        return len(self._actors)

    def show(self, axis_codes: str, affine: np.ndarray, spacing: np.ndarray) -> None:
        """Write the letters of a scan whose voxels (the file's ``axis_codes``) map to LPS mm
        through ``affine``, VTK spacing ``spacing``, and show them."""
        self._scan = (axis_codes, np.asarray(affine, float), np.asarray(spacing, float))
        self._follow(self._reading.oblique)
        for actor in self._actors.values():
            actor.VisibilityOn()

    def hide(self) -> None:
        """Hide the letters (no volume shown)."""
        self._scan = None
        for actor in self._actors.values():
            actor.VisibilityOff()

    def _follow(self, oblique: Oblique) -> None:
        if self._scan is not None:
            for edge, letters in edge_letters_for(self._plane, oblique, *self._scan).items():
                self._actors[edge].SetInput(letters)


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
