"""Guard for the pinned Qt binding: emitting signals must not eat references to True.

PySide6 6.12.0 returns True from ``SignalInstance.emit`` without taking a reference; after a
few hundred emits CPython aborts ("bool_dealloc"). pyproject pins a release without the bug;
this test fails if a bump brings it back.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Source(QObject):
    changed = Signal(object)
    pair = Signal(int, int)


def test_emit_keeps_true_alive():
    src = _Source()
    got = []
    src.changed.connect(got.append)
    src.pair.connect(lambda a, b: got.append(a + b))
    before = sys.getrefcount(True)
    for n in range(200):
        src.changed.emit(n)
        src.pair.emit(n, 1)
    assert len(got) == 400 and got[-1] == 200
    assert sys.getrefcount(True) >= before
