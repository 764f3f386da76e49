"""Window/level: file default, number-key presets, drag tool."""

from __future__ import annotations

import pytest
from gui_helpers import drag
from PySide6 import QtCore
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def windows(win):
    return {v.window() for v in win.slice_views}


def test_default_is_the_files_own_window(chest):
    meta = chest.scan.volume.metadata
    assert windows(chest) == {(meta["window_width"], meta["window_center"])}


def test_the_bundled_nifti_chest_opens_in_the_lung_window(window, qtbot):
    """No header window: the chest's standard preset, not a percentile range; 0 comes back to it."""
    from gui_helpers import load

    from inference.resources import DEMO_CT

    load(qtbot, window, DEMO_CT)
    assert window.scan.window.name == "Lung" and windows(window) == {(1500, -600)}
    qtbot.keyClick(window.axial.canvas, "3")
    qtbot.keyClick(window.axial.canvas, "0")
    assert windows(window) == {(1500, -600)}


@pytest.mark.parametrize("key, expected", [
    ("1", (1500, -600)), ("2", (350, 50)), ("3", (400, 40)),
    ("4", (150, 90)), ("5", (2500, 480)), ("6", (80, 40)),
])
def test_number_keys_select_presets(chest, qtbot, key, expected):
    before = chest.axial.canvas.to_array()
    qtbot.keyClick(chest.axial.canvas, key)
    assert windows(chest) == {expected}
    assert (chest.axial.canvas.to_array() != before).any()


def test_key_zero_restores_default(chest, qtbot):
    default = windows(chest)
    qtbot.keyClick(chest.axial.canvas, "5")
    assert windows(chest) != default
    qtbot.keyClick(chest.axial.canvas, "0")
    assert windows(chest) == default


def test_window_level_tool_left_drag(chest, qtbot):
    qtbot.keyClick(chest.axial.canvas, "3")  # soft tissue 400/40
    qtbot.keyClick(chest.axial.canvas, "w")  # window/level tool
    p = QtCore.QPointF(200, 200)
    drag(chest.axial.canvas, p, QtCore.QPointF(260, 200), Qt.MouseButton.LeftButton)
    (width, level), = windows(chest)
    assert width > 400 and level == 40  # right widens
    drag(chest.axial.canvas, p, QtCore.QPointF(200, 240), Qt.MouseButton.LeftButton)
    (width2, level2), = windows(chest)
    assert width2 == width and level2 > 40  # down raises the level
    assert chest.axial.position == (32, 256, 256)  # the W/L tool does not move the crosshair


def test_percentile_default_without_file_window():
    import numpy as np

    from viewer.models.window_level import default_window

    vox = np.linspace(-1000, 1000, 100_000, dtype=np.float32).reshape(10, 100, 100)
    wl = default_window(vox, {})
    assert wl.name == "Auto" and wl.width == pytest.approx(1960, rel=0.02) and abs(wl.level) < 20
    assert default_window(vox, {"window_width": 400.0, "window_center": 40.0}).width == 400
