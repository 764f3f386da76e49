"""One PACS operation (a search, a retrieval, writing or sending an SR) on a thread of its own,
so that the window keeps drawing while the network or the disk is slow.

The work gets a ``progress(done, total)`` callback and a cancel switch (a
:class:`threading.Event`, which :func:`inference.pacs.retrieve_series` checks between images);
it ends with :attr:`PacsTask.done` (its result) or :attr:`PacsTask.failed` (one sentence).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

Work = Callable[[Callable[[int, int], None], threading.Event], Any]


class PacsTask(QThread):
    """Runs ``work(progress, cancel)`` once; ``doing`` names it in the sentence of an unforeseen failure."""

    done = Signal(object)
    failed = Signal(str)
    progress = Signal(int, int)  # (images done, images in all)

    def __init__(self, work: Work, doing: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self.doing = doing
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop (a retrieval keeps what arrived; :attr:`failed` says so)."""
        self.cancel_event.set()

    def run(self) -> None:  # noqa: D102 (QThread API)
        from inference.missing_extra import MissingExtra
        from inference.pacs import PacsError

        try:
            result = self._work(lambda done, total: self.progress.emit(int(done), int(total)), self.cancel_event)
        except (PacsError, MissingExtra) as exc:  # the user's to act on: their own sentence
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread silently
            from inference.crash_log import unexpected_error_sentence

            self.failed.emit(unexpected_error_sentence(exc, self.doing))
            return
        self.done.emit(result)
