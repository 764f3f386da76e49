"""The 3D view's orientation cube letters the patient directions of an LPS volume: the face the
camera looks at says where the camera stands, checked against the scan's own affine."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.models.orientation import cube_face_letters, face_toward

pytestmark = pytest.mark.gui
LPS_UNIT = {"L": (1, 0, 0), "R": (-1, 0, 0), "P": (0, 1, 0), "A": (0, -1, 0), "S": (0, 0, 1), "I": (0, 0, -1)}


def test_face_letters_follow_the_axis_codes():
    assert cube_face_letters("LPS") == {"x+": "L", "x-": "R", "y+": "P", "y-": "A", "z+": "S", "z-": "I"}
    assert cube_face_letters("RAS")["x+"] == "R" and cube_face_letters("RAS")["y-"] == "P"
    with pytest.raises(ValueError, match="three patient axes"):
        cube_face_letters("LLS")


def test_each_face_points_where_the_affine_says(chest):
    """Each +axis face's letter is the LPS direction of that index axis in the scan's affine."""
    vol, marker = chest.scan.volume, chest.volume_view.marker
    assert vol.orientation == "LPS" and marker.axis_codes == "LPS"
    for n, axis in enumerate("xyz"):
        column = vol.affine[:3, n] / np.linalg.norm(vol.affine[:3, n])
        letter = marker.face_text(f"{axis}+")
        assert np.dot(column, LPS_UNIT[letter]) > 0.9, (axis, letter, column)
        assert np.dot(column, LPS_UNIT[marker.face_text(f"{axis}-")]) < -0.9


@pytest.mark.parametrize("turn, seen", [(0, "A"), (90, "L"), (180, "P"), (270, "R")])
def test_the_face_toward_the_camera_names_where_it_stands(chest, turn, seen):
    """The view opens from the front (anterior); turning about the body's long axis shows the
    patient's left, back and right in turn (the camera moves toward +x, the patient's left, first)."""
    vv = chest.volume_view
    vv.reset_camera(render=False)
    cam = vv.renderer.GetActiveCamera()
    cam.Azimuth(turn)
    to_camera = np.subtract(cam.GetPosition(), cam.GetFocalPoint())
    face = face_toward(tuple(to_camera))
    assert vv.marker.face_text(face) == seen
    assert vv.marker.widget.GetEnabled()
    vv.reset_camera()
