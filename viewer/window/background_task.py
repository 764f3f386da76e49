"""One slow call (a pull's plan, a pull, a bundle's verification) on a thread of its own, so
that the window keeps drawing: its result, or its failure in one sentence, comes back as a
signal queued to the UI thread."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal


class BackgroundTask(QThread):
    """Runs ``work(report)`` once; ``report(name, done, total)`` is :attr:`progress`, for
    work that counts bytes (a pull). Ends with :attr:`done` (the result) or :attr:`failed`
    (the exception's sentence, or its type when it has none)."""

    done = Signal(object)
    failed = Signal(str)
    progress = Signal(str, int, object)  # (file name, bytes done, bytes in all or None)

    def __init__(self, work: Callable[[Callable[[str, int, int | None], None]], Any],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work

    def run(self) -> None:
        try:
            result = self._work(self.progress.emit)
        except Exception as exc:  # noqa: BLE001 - PullError, BundleError, a missing extra: said, never raised
            self.failed.emit(str(exc) or type(exc).__name__)
            return
        self.done.emit(result)
