"""Fixtures for the viewer's GUI tests (run under a virtual X display, see README)."""

from __future__ import annotations

import os

import pytest
from gui_helpers import A0001_DICOM, model_data_dir, need


def pytest_collection_modifyitems(config, items):
    """GUI tests need an X display (VTK inside Qt does not work with the offscreen platform)."""
    if os.environ.get("DISPLAY"):
        return
    if os.environ.get("CTCHAT_REQUIRE_DISPLAY"):
        raise pytest.UsageError("CTCHAT_REQUIRE_DISPLAY is set but there is no X display: run under xvfb-run")
    skip = pytest.mark.skip(reason="no X display: run under xvfb-run")
    for item in items:
        if item.get_closest_marker("gui") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path, monkeypatch):
    # Recent-files store etc. go to a temporary folder, never the user's.
    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path / "appdata"))


@pytest.fixture
def window(qtbot):
    """A shown main window without a scan."""
    from viewer.window.main_window import MainWindow

    win = MainWindow()
    win.resize(1200, 800)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()  # no window manager under Xvfb: shortcuts need an active window
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)  # (waitActive called bare waits for nothing)
    yield win
    win.close()


@pytest.fixture(scope="module")
def _chest_window(qapp, tmp_path_factory):
    """One window with the A0001 chest per test module (loading it per test is slow)."""
    from chat_helpers import wait_for
    from PySide6.QtTest import QTest

    from viewer.window.main_window import MainWindow

    need(A0001_DICOM)
    mp = pytest.MonkeyPatch()
    mp.setenv("CTCHAT_DATA_DIR", str(tmp_path_factory.mktemp("appdata")))
    win = MainWindow()
    win.resize(1200, 800)
    win.show()
    QTest.qWaitForWindowExposed(win)
    win.open_path(str(A0001_DICOM))
    # wait_for runs a QEventLoop, not QTest.qWait: qWait keeps the GIL while it sleeps and starves the loader.
    assert wait_for(win.loadFinished) == ["loaded"], win.message_bar.label.text()
    yield win
    win.close()
    mp.undo()


@pytest.fixture
def chest(_chest_window, qtbot):
    """The main window showing the real A0001 chest CT (DICOM), reset to its initial state."""
    from viewer.models.presets import vr_preset
    from viewer.models.reading import Tool

    win = _chest_window
    win.set_tool(Tool.NAVIGATE)
    win.set_position(tuple(n // 2 for n in win.scan.volume.shape), render_now=True)
    win.apply_default_window()
    win.reset_views()
    win.volume_view.set_preset(vr_preset()["id"])
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)  # (waitActive called bare waits for nothing)
    return win


@pytest.fixture(scope="module")
def chat_win(qapp, tmp_path_factory):
    """A window with the chat panel and the A0001 chest, the model ready to answer."""
    from chat_helpers import chat_window

    with chat_window(model_data_dir(tmp_path_factory.mktemp("appdata")), A0001_DICOM) as win:
        yield win
