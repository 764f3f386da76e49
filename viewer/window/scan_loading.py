"""`ScanLoading`: opening a scan off the UI thread, for the main window.

It owns the running :class:`~viewer.window.load_worker.LoadWorker` (progress, cancel, workers that
finish in the background after a cancel), the series picker for folders with several series,
and the two status-bar widgets that show it. The window only says what to open and shows what
comes back (:attr:`loaded`); a failed load leaves the scan on screen as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import Signal

from ..models.reading import LoadedScan
from .load_worker import LoadWorker
from .series_dialog import SeriesDialog

if TYPE_CHECKING:
    from inference.io import DicomFolder


class ScanLoading(QtCore.QObject):
    """The loads of one window. ``finished`` says how each ended: ``"loaded"``, ``"failed"``,
    ``"cancelled"`` or ``"series"`` (the picker is open)."""

    loaded = Signal(object)  # LoadedScan
    failed = Signal(str)  # the loader's sentence
    finished = Signal(str)
    status = Signal(str, int)  # a status-bar message and how long to show it (ms; 0: until replaced)

    def __init__(self, window: QtWidgets.QWidget, as_stored: bool = False) -> None:
        super().__init__(window)
        self.window = window
        self.worker: LoadWorker | None = None
        self._old_workers: list[LoadWorker] = []
        self.series_dialog: SeriesDialog | None = None
        self._max_voxels = 0  # the budget of the last load, for the series picked after it
        self.as_stored = as_stored  # show stored slices instead of the regular grid (ctchat view --as-stored)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self._end()

    def open(self, path: str | Path, series_uid: str | None = None, max_voxels: int = 0,
             folder: DicomFolder | None = None) -> LoadWorker:
        """Start loading ``path`` (``series_uid``: one series of a folder, whose headers
        ``folder`` holds when they were read already); ``max_voxels``: the 3D view's budget, for
        the downsampled copy the worker prepares."""
        if self.worker is not None:
            self.cancel()
        self._max_voxels = max_voxels
        worker = LoadWorker(str(path), series_uid, max_voxels, self, as_stored=self.as_stored, folder=folder)
        worker.progress.connect(self._on_progress)
        worker.loaded.connect(self._on_loaded)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.seriesFound.connect(self._on_series_found)
        worker.finished.connect(lambda w=worker: self._forget(w))
        self.worker = worker
        self.progress.setRange(0, 0)  # busy until the first progress report
        self.progress.show()
        self.cancel_button.show()
        self.status.emit(f"Loading {Path(path).name}…", 0)
        worker.start()
        return worker

    def cancel(self) -> None:
        """Cancel the running load, if any; its late signals are cut off and it finishes in
        the background."""
        worker = self.worker
        if worker is None:
            return
        worker.cancel()
        for sig in (worker.progress, worker.loaded, worker.failed, worker.seriesFound, worker.cancelled):
            try:
                sig.disconnect()
            except (RuntimeError, TypeError):
                pass
        self._old_workers.append(worker)
        self.worker = None
        self._end()
        self.status.emit("Loading cancelled", 5000)
        self.finished.emit("cancelled")

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Cancel every load and wait for the workers (before the window closes)."""
        for w in [self.worker, *self._old_workers]:
            if w is not None:
                w.cancel()
                w.wait(wait_ms)

    def _forget(self, worker: LoadWorker) -> None:
        if worker in self._old_workers:
            self._old_workers.remove(worker)

    def _end(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def _on_loaded(self, scan: LoadedScan) -> None:
        self.worker = None
        self._end()
        self.loaded.emit(scan)
        self.status.emit(f"Loaded {Path(scan.path).name}", 5000)
        self.finished.emit("loaded")

    def _on_failed(self, message: str) -> None:
        self.worker = None
        self._end()
        self.failed.emit(message)
        self.status.emit("Loading failed", 5000)
        self.finished.emit("failed")

    def _on_cancelled(self) -> None:
        self.worker = None
        self._end()
        self.status.emit("Loading cancelled", 5000)
        self.finished.emit("cancelled")

    def _on_series_found(self, folder: DicomFolder) -> None:
        path = self.worker.path if self.worker else ""
        self.worker = None
        self._end()
        dialog = SeriesDialog(folder.series, self.window)
        dialog.accepted.connect(lambda: self._open_series(path, dialog.selected_uid(), folder))
        self.series_dialog = dialog
        dialog.open()  # non-modal to the event loop: the window keeps painting
        self.finished.emit("series")

    def _open_series(self, path: str, uid: str | None, folder: DicomFolder) -> None:
        if uid:
            self.open(path, uid, self._max_voxels, folder=folder)
