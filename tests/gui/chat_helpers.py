"""Helpers for the chat-panel tests: a window with the chat, wait on a Qt signal, ask a
question, open and encode a scan."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from gui_helpers import need
from PySide6 import QtCore


@contextmanager
def chat_window(data_dir: Path, scan: Path | None = None, env: dict[str, str] | None = None,
                **window) -> Iterator:
    """A shown MainWindow with the chat (answers of 8 tokens; ``window``: more of its
    arguments), its data in ``data_dir`` (and ``env`` set), ``scan`` opened and encoded when
    given; closed afterwards, its model thread ended."""
    from PySide6.QtTest import QTest

    from viewer.window.main_window import MainWindow

    mp = pytest.MonkeyPatch()
    for name, value in {"CTCHAT_DATA_DIR": str(data_dir), **(env or {})}.items():
        mp.setenv(name, value)
    win = MainWindow(chat=True, **{"max_tokens": 8, **window})
    try:
        win.resize(1500, 900)
        win.show()
        QTest.qWaitForWindowExposed(win)
        if scan is not None:
            open_and_encode(win, scan)
        yield win
    finally:
        win.close()
        mp.undo()
    assert not win.chat_panel.chat.thread.isRunning()


def wait_for(signal, timeout_ms: int = 60000, until=lambda *a: True) -> list:
    """Run a QEventLoop (not qtbot.wait: the worker threads need the GIL) until ``signal``
    fires with arguments that satisfy ``until``; returns those arguments."""
    got: list = []
    loop = QtCore.QEventLoop()

    def slot(*args):
        if not got and until(*args):
            got.append(args)
            loop.quit()

    signal.connect(slot)
    QtCore.QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(slot)
    assert got, f"timed out waiting for {signal}"
    return list(got[0])


def ask(win, question: str = "Is there a nodule in the right upper lobe?", **kw):
    """Ask through the panel and wait for the answer; returns (entry, streamed pieces)."""
    panel = win.chat_panel
    pieces: list[str] = []

    def collect(_qid, s):
        pieces.append(s)

    panel.chat.worker.piece.connect(collect)
    try:
        entry = panel.ask(question, **kw)
        assert entry is not None, panel.status.text()
        wait_for(panel.answerFinished, until=lambda e: e is entry)
    finally:
        panel.chat.worker.piece.disconnect(collect)
    return entry, pieces


def latest(win):
    """The latest answered entry, selected (asks one question when there is none)."""
    panel = win.chat_panel
    if not any(e.answer is not None for e in panel.entries):
        ask(win)
    row = max(n for n, e in enumerate(panel.entries) if e.answer is not None)
    panel.history.setCurrentRow(row)
    return panel.entries[row]


def open_and_encode(win, path) -> None:
    """Open ``path`` in the window and wait until its scan is encoded and the model is ready."""
    panel = win.chat_panel
    win.open_path(str(need(path)))
    assert wait_for(win.loadFinished) == ["loaded"]
    if panel.state != "ready":
        wait_for(panel.stateChanged, 90000, until=lambda s: s in ("ready", "scan_failed"))
    assert panel.state == "ready", panel.status.text()
