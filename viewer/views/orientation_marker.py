"""The 3D view's orientation cube: a small labelled cube in a corner that turns with the
camera, each face lettered with the patient direction it points to (L/R, A/P, S/I)."""

from __future__ import annotations

from vtkmodules.vtkInteractionWidgets import vtkOrientationMarkerWidget
from vtkmodules.vtkRenderingAnnotation import vtkAnnotatedCubeActor
from vtkmodules.vtkRenderingCore import vtkRenderWindowInteractor

from ..models.orientation import cube_face_letters

# Per face, the cube actor's setter of its text.
_SETTERS = {"x+": "SetXPlusFaceText", "x-": "SetXMinusFaceText", "y+": "SetYPlusFaceText",
            "y-": "SetYMinusFaceText", "z+": "SetZPlusFaceText", "z-": "SetZMinusFaceText"}
_GETTERS = {face: setter.replace("Set", "Get", 1) for face, setter in _SETTERS.items()}


class OrientationMarker:
    """The cube in the lower-left corner of the view ``interactor`` drives; not interactive
    (it follows the camera, the mouse turns the volume)."""

    def __init__(self, interactor: vtkRenderWindowInteractor) -> None:
        self.cube = vtkAnnotatedCubeActor()
        self.cube.SetFaceTextScale(0.65)
        self.cube.GetCubeProperty().SetColor(0.25, 0.3, 0.4)
        self.cube.GetTextEdgesProperty().SetColor(0.8, 0.8, 0.9)
        for prop, rgb in ((self.cube.GetXPlusFaceProperty, (1.0, 0.6, 0.4)),
                          (self.cube.GetXMinusFaceProperty, (1.0, 0.6, 0.4)),
                          (self.cube.GetYPlusFaceProperty, (0.5, 0.9, 0.5)),
                          (self.cube.GetYMinusFaceProperty, (0.5, 0.9, 0.5)),
                          (self.cube.GetZPlusFaceProperty, (0.5, 0.7, 1.0)),
                          (self.cube.GetZMinusFaceProperty, (0.5, 0.7, 1.0))):
            prop().SetColor(*rgb)
        self.widget = vtkOrientationMarkerWidget()
        self.widget.SetOrientationMarker(self.cube)
        self.widget.SetInteractor(interactor)
        self.widget.SetViewport(0.0, 0.0, 0.18, 0.24)
        self.widget.SetEnabled(1)
        self.widget.InteractiveOff()
        self.set_axis_codes("LPS")

    def set_axis_codes(self, axis_codes: str) -> None:
        """Letter the faces for a volume whose (i, j, k) increase toward ``axis_codes``."""
        self.axis_codes = axis_codes
        for face, letter in cube_face_letters(axis_codes).items():
            getattr(self.cube, _SETTERS[face])(letter)

    def face_text(self, face: str) -> str:
        """The letter the cube shows on ``face`` (``"x+"`` ... ``"z-"``)."""
        return getattr(self.cube, _GETTERS[face])()
