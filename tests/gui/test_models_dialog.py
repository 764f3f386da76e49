"""The Models dialog, switching the chat's model without closing the scan, and Compare models.

One window per module: the chat on the default bundle with the bundled demo CT, a models folder
in tmp holding the tiny random slice-set bundle (tests/slices/tiny_bundle.py) as ``tiny``, and
the loopback Hub of tests/models for the pulls (its converter replaced by a copy of the tiny
bundle: the real one has its own tests). The answers are random or demonstration text: what is
tested is which model answers, which transcript is shown and what is installed. The tests run
in order (one window). Set CTCHAT_SHOTS_DIR to keep the dialogs' screenshots there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest
from chat_helpers import ask, open_and_encode, wait_for
from gui_helpers import model_data_dir
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from inference.resources import DEMO_CT

pytestmark = pytest.mark.gui

TESTS = Path(__file__).resolve().parents[1]
QUESTION = "Is there a nodule in the right lung?"
PULLED = "m3d-lamed-phi3-4b"  # catalogue entries: not gated, no other repositories
CANCELLED = "m3d-lamed-llama2-7b"
REPOS = {PULLED: "GoodBaiBai88/M3D-LaMed-Phi-3-4B", CANCELLED: "GoodBaiBai88/M3D-LaMed-Llama-2-7B"}


def _models_conftest():
    """tests/models/conftest.py's helpers (its point_at), imported by path."""
    sys.path.insert(0, str(TESTS / "models"))
    sys.path.insert(0, str(TESTS / "slices"))
    spec = importlib.util.spec_from_file_location("models_conftest", TESTS / "models" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_until(condition, timeout_ms: int = 60000) -> None:
    """Run the event loop until ``condition()`` holds (a QEventLoop: the workers need the GIL)."""
    deadline = QtCore.QDeadlineTimer(timeout_ms)
    while not condition() and not deadline.hasExpired():
        loop = QtCore.QEventLoop()
        QtCore.QTimer.singleShot(20, loop.quit)
        loop.exec()
    assert condition(), "timed out"


def shot(widget: QtWidgets.QWidget, name: str, tmp_path: Path) -> Path:
    """Save ``widget`` as PNG (to CTCHAT_SHOTS_DIR when set) and check it was written."""
    folder = Path(os.environ.get("CTCHAT_SHOTS_DIR") or tmp_path)
    path = folder / name
    assert widget.grab().save(str(path), "PNG")
    assert path.stat().st_size > 10_000
    return path


@pytest.fixture(scope="module")
def setting(qapp, tmp_path_factory):
    """The loopback Hub, a models folder holding the tiny bundle as ``tiny``, and the window."""
    pytest.importorskip("torch")  # the tiny bundle's random Gemma 3 is written with torch
    conftest = _models_conftest()
    from hub_server import HubServer
    from tiny_bundle import make_tiny_bundle

    from inference.slices.recipe import SliceRecipe
    from viewer.window.main_window import MainWindow

    tiny = make_tiny_bundle(tmp_path_factory.mktemp("tiny"), SliceRecipe(max_slices=6))
    root = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    with HubServer() as hub:
        models = conftest.point_at(mp, hub, root)
        mp.setenv("CTCHAT_DATA_DIR", str(model_data_dir(root / "data")))  # the default LLM, already assembled
        shutil.copytree(tiny, models / "tiny")
        win = MainWindow(chat=True, max_tokens=8, slices=4)
        win.resize(1500, 900)
        win.show()
        QTest.qWaitForWindowExposed(win)
        open_and_encode(win, DEMO_CT)
        yield {"win": win, "hub": hub, "models": models, "tiny": tiny, "mp": mp}
        win.close()
    mp.undo()


@pytest.fixture
def dialog(setting, qtbot):
    from viewer.window.models_dialog import open_models_dialog

    win = setting["win"]
    dlg = open_models_dialog(win, win.chat)
    yield dlg
    dlg.close()


def say_yes(monkeypatch) -> list[str]:
    """Answer Yes to every question the dialog asks; returns what it asked."""
    asked: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "question",
                        lambda parent, title, text, *a: asked.append(text) or QtWidgets.QMessageBox.StandardButton.Yes)
    return asked


def switch(setting, dialog, name: str) -> None:
    panel = setting["win"].chat_panel
    dialog.select(name)
    assert dialog.use()
    wait_for(panel.stateChanged, 120000, until=lambda s: s in ("ready", "failed", "scan_failed"))
    assert panel.state == "ready", panel.status.text()


def test_the_dialog_lists_the_installed_bundles_and_the_catalogue(dialog, setting, tmp_path):
    assert dialog.names(installed=True) == ["default", "tiny"]
    assert {PULLED, CANCELLED} <= set(dialog.names(installed=False))
    dialog.select("tiny")
    card = dialog.card.toPlainText()
    assert "slice set (2D slices)" in card and str(setting["models"] / "tiny") in card
    assert dialog.use_button.isEnabled() and dialog.remove_button.isEnabled() and not dialog.pull_button.isEnabled()
    dialog.select(PULLED)
    card = dialog.card.toPlainText()
    assert "Download" in card and "Memory" in card and "Licence" in card and "*" in card
    assert dialog.pull_button.isEnabled() and not dialog.use_button.isEnabled()
    dialog.select("default")
    assert not dialog.remove_button.isEnabled()  # the built-in one stays
    shot(dialog, "models-dialog.png", tmp_path)


def test_use_switches_the_model_and_each_keeps_its_own_transcript(dialog, setting):
    win = setting["win"]
    panel, scan = win.chat_panel, win.scan
    default_name = panel.model_info["name"]
    first, _ = ask(win, QUESTION)
    switch(setting, dialog, "tiny")
    assert win.scan is scan  # the scan stayed open, and was encoded again for the new model
    tiny_name = panel.model_info["name"]
    assert tiny_name != default_name and panel.model_info["slice_budget"] == 4
    assert win.chat.dock.windowTitle() == f"Chat — {tiny_name}" and tiny_name in panel.model_label.text()
    assert panel.entries == [] and panel.history.count() == 0  # its own transcript: empty
    answer, _ = ask(win, "Where is the heart?")
    assert answer.answer is not None and answer.model_input  # the slice set says what it was sent

    switch(setting, dialog, "default")
    assert panel.model_info["name"] == default_name
    assert panel.entries == [first] and panel.history.count() == 1  # the default's earlier question is back
    assert panel.transcript.model == default_name


def test_a_bundle_that_does_not_load_leaves_the_model_in_place(setting):
    win = setting["win"]
    panel = win.chat_panel
    before = panel.model_info["name"]
    assert win.chat.use_bundle("no-such-bundle")
    wait_for(panel.stateChanged, 60000, until=lambda s: s == "ready")
    assert "no-such-bundle could not be loaded" in panel.status.text() and "Still using" in panel.status.text()
    assert panel.model_info["name"] == before
    entry, _ = ask(win, QUESTION)  # the previous model still answers
    assert entry.answer is not None


def test_remove_asks_and_removes(dialog, setting, monkeypatch):
    models = setting["models"]
    shutil.copytree(setting["tiny"], models / "tiny-copy")
    dialog.refresh()
    dialog.select("tiny-copy")
    asked = say_yes(monkeypatch)
    assert dialog.remove()
    assert asked and "tiny-copy" in asked[0]
    assert not (models / "tiny-copy").exists() and "tiny-copy" not in dialog.names()


def serve(setting, name: str, size: int) -> None:
    """The catalogue entry ``name``'s repository on the loopback Hub (the converter is replaced)."""
    from hub_server import FakeRepo

    setting["hub"].add(FakeRepo(REPOS[name], {"config.json": b"{}", "model.safetensors": os.urandom(size),
                                              "README.md": b"# tiny test repository\n"}))


@pytest.fixture
def fake_converter(setting, monkeypatch):
    """The converter makes the tiny bundle; the disk is large enough for any catalogue model."""
    from inference.models import pull as pull_module

    monkeypatch.setattr(pull_module, "run_converter",
                        lambda source, out, quant, **kw: shutil.copytree(setting["tiny"], out))
    monkeypatch.setattr(pull_module, "free_bytes", lambda folder: 10**13)
    return pull_module


def test_pull_shows_the_plan_then_progress_and_installs(dialog, setting, fake_converter, monkeypatch):
    serve(setting, PULLED, 3_000_000)
    asked = say_yes(monkeypatch)
    values: list[int] = []
    dialog.progress.valueChanged.connect(values.append)
    dialog.select(PULLED)
    dialog.pull()
    wait_until(lambda: dialog.task is None and PULLED in dialog.names(installed=True) or "not" in dialog.status.text())
    assert PULLED in dialog.names(installed=True), dialog.status.text()
    assert "disk needed" in asked[0] and "licence" in asked[0]  # the plan was shown before anything came
    assert values[-1] == 1000 and 0 < len([v for v in values if 0 < v < 1000])  # each file, byte by byte
    assert (setting["models"] / PULLED / "manifest.json").is_file()
    assert f"{PULLED} is installed" in dialog.status.text()
    shutil.rmtree(setting["models"] / PULLED)  # a copy of the tiny bundle: not one to compare


def test_cancel_during_a_pull_installs_nothing(dialog, setting, fake_converter, monkeypatch):
    serve(setting, CANCELLED, 3_000_000)
    say_yes(monkeypatch)
    real_download, started, release = fake_converter.download, threading.Event(), threading.Event()

    def held_download(listing, file, dest, on_bytes, cancel=None):
        def counted(n: int) -> None:  # hold the first bytes until the test has pressed Cancel
            on_bytes(n)
            if n > 0 and not started.is_set():
                started.set()
                release.wait(30)
        real_download(listing, file, dest, counted, cancel)

    monkeypatch.setattr(fake_converter, "download", held_download)
    dialog.select(CANCELLED)
    dialog.pull()
    wait_until(started.is_set)
    wait_until(dialog.cancel_button.isEnabled)
    dialog.cancel_button.click()
    release.set()
    wait_until(lambda: dialog.task is None)
    assert dialog.status.text() == f"{CANCELLED} was not installed: the pull was stopped; run it again to resume"
    assert CANCELLED not in dialog.names(installed=True)
    assert [p.name for p in setting["models"].iterdir() if CANCELLED in p.name] == []  # nothing half-made


def test_compare_asks_each_model_and_exports(setting, tmp_path):
    win = setting["win"]
    panel = win.chat_panel
    compare = win.chat.show_compare()
    compare.choose(["default", "tiny"])
    compare.question_box.setText(QUESTION)
    steps: list[str] = []
    win.chat.thread.worker.compareProgress.connect(lambda k, n, name: steps.append(f"{k}/{n} {name}"))
    assert compare.start()
    assert panel.state == "starting"  # the chat's model is closed meanwhile
    wait_until(lambda: compare.result is not None, 180000)
    assert steps == ["1/2 default", "2/2 tiny"]
    answers = compare.result.answers
    assert [a.error for a in answers] == ["", ""] and all(a.answer is not None for a in answers)
    assert answers[1].sent_slices  # the slice set says which slices it was sent
    assert compare.columns.count() == 2
    if panel.state != "ready":  # the chat's own model comes back and reads the scan again
        wait_for(panel.stateChanged, 120000, until=lambda s: s in ("ready", "failed", "scan_failed"))
    assert panel.state == "ready", panel.status.text()
    shot(compare, "compare-models.png", tmp_path)
    written = compare.export(tmp_path / "export")
    assert sorted(p.name for p in written) == ["comparison.csv", "comparison.html", "comparison_slices.csv"]
    assert all(p.stat().st_size > 0 for p in written)
    compare.close()
