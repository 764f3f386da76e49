"""Cine (C plays the focused view's slices, QTimer-driven) and Home/End."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


@pytest.fixture
def cine(chest):
    chest.cine.set_fps(60)
    chest.cine.loop = False
    yield chest.cine
    chest.cine.stop()
    chest.cine.loop = False


def test_c_plays_the_focused_view_and_stops_at_the_end(chest, cine, qtbot):
    n = chest.sagittal.n_slices
    chest.sagittal.set_slice(n - 6)
    chest.sagittal.canvas.setFocus()
    qtbot.keyClick(chest, Qt.Key.Key_C)
    assert cine.playing and cine.view is chest.sagittal
    qtbot.waitUntil(lambda: not cine.playing, timeout=3000)
    assert chest.sagittal.slice_index == n - 1
    assert chest.position[2] == n - 1  # the linked views followed
    assert chest.axial.slice_index == chest.scan.volume.shape[0] // 2  # the other views did not play


def test_c_again_stops(chest, cine, qtbot):
    chest.axial.set_slice(0)
    chest.axial.canvas.setFocus()
    cine.set_fps(20)
    qtbot.keyClick(chest, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: chest.axial.slice_index >= 2, timeout=3000)
    qtbot.keyClick(chest, Qt.Key.Key_C)
    assert not cine.playing
    stopped_at = chest.axial.slice_index
    qtbot.wait(200)
    assert chest.axial.slice_index == stopped_at < chest.axial.n_slices - 1


def test_loop_starts_again_from_the_first_slice(chest, cine, qtbot):
    cine.loop = True
    n = chest.axial.n_slices
    chest.axial.set_slice(n - 2)
    cine.toggle(chest.axial)
    qtbot.waitUntil(lambda: chest.axial.slice_index < n - 2, timeout=3000)
    assert cine.playing
    cine.stop()


def test_fps_is_the_timer_rate(cine):
    cine.set_fps(10)
    assert cine.fps == 10 and cine._timer.interval() == 100


def test_home_and_end_go_to_the_first_and_last_slice(chest, qtbot):
    chest.coronal.canvas.setFocus()
    qtbot.keyClick(chest.coronal.canvas, Qt.Key.Key_End)
    assert chest.coronal.slice_index == chest.coronal.n_slices - 1
    assert chest.position[1] == chest.coronal.n_slices - 1
    qtbot.keyClick(chest.coronal.canvas, Qt.Key.Key_Home)
    assert chest.coronal.slice_index == 0 and chest.axial.position[1] == 0
