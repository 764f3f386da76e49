"""Loading a scan off the UI thread, with progress and cancel.

The worker calls :func:`inference.io.list_series` / :func:`inference.io.load_volume` and also
prepares what the views need from the voxels (default window, the 3D view's downsampled copy),
so the UI thread only wires the result in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal

from .vtk_data import VRData
from .window_level import WindowLevel, default_window


@dataclass
class LoadedScan:
    """A loaded volume plus display data prepared in the worker."""

    volume: Any  # inference.io.Volume
    path: str
    window: WindowLevel
    vr: VRData | None


class LoadWorker(QThread):
    """Loads one path (optionally one series of it) in a background thread.

    Exactly one of :attr:`loaded`, :attr:`failed`, :attr:`cancelled` or :attr:`seriesFound`
    is emitted; signals arrive in the thread of the receiver (the UI thread).
    """

    progress = Signal(int, int)  # (done, total)
    loaded = Signal(object)  # LoadedScan
    failed = Signal(str)  # a message for the user
    cancelled = Signal()
    seriesFound = Signal(object)  # list[SeriesInfo]: the folder holds several, pick one

    def __init__(self, path: str | Path, series_uid: str | None = None, vr_max_voxels: int = 0,
                 parent=None, as_stored: bool = False) -> None:
        super().__init__(parent)
        self.path = str(path)
        self.series_uid = series_uid
        self.vr_max_voxels = vr_max_voxels
        self.as_stored = as_stored  # the slices as the files hold them, not a regular grid
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the load to stop; :attr:`cancelled` follows soon after."""
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def _progress(self, done: int, total: int) -> None:
        self.progress.emit(int(done), int(total))

    def run(self) -> None:  # noqa: D102 (QThread API)
        from inference.io import CTLoadError, LoadCancelled, list_series, load_volume

        try:
            uid = self.series_uid
            if uid is None and Path(self.path).is_dir():
                series = list_series(self.path, cancel=self._cancel)
                if sum(s.loadable for s in series) > 1:  # a choice to make: the picker
                    self.seriesFound.emit(series)
                    return
            if self._cancel.is_set():
                raise LoadCancelled()
            vol = load_volume(self.path, uid, progress=self._progress, cancel=self._cancel)
            if self.as_stored:
                vol = vol.as_stored()
            if self._cancel.is_set():
                raise LoadCancelled()
            window = default_window(vol.voxels, vol.metadata)
            vr = VRData(vol.voxels, vol.spacing_zyx, self.vr_max_voxels) if self.vr_max_voxels else None
            if self._cancel.is_set():
                raise LoadCancelled()
            self.loaded.emit(LoadedScan(vol, self.path, window, vr))
        except LoadCancelled:
            self.cancelled.emit()
        except CTLoadError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread silently
            from inference.crash_log import unexpected_error_sentence

            self.failed.emit(unexpected_error_sentence(exc, f"Opening {Path(self.path).name}"))
