"""Loading a scan off the UI thread, with progress and cancel.

The worker calls :func:`inference.io.read_dicom_folder` / :func:`inference.io.load_volume` (each
header of a folder is parsed once, also when the series picker comes between) and also
prepares what the views need from the voxels (default window, the 3D view's downsampled copy),
so the UI thread only wires the result in.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal

from inference.body_region import scan_region

if TYPE_CHECKING:
    from inference.io import DicomFolder

from ..models.reading import LoadedScan
from ..models.vr_data import VRData
from ..models.window_level import opening_window


class LoadWorker(QThread):
    """Loads one path (optionally one series of it) in a background thread.

    Exactly one of :attr:`loaded`, :attr:`failed`, :attr:`cancelled` or :attr:`seriesFound`
    is emitted; signals arrive in the thread of the receiver (the UI thread).
    """

    progress = Signal(int, int)  # (done, total)
    loaded = Signal(object)  # LoadedScan
    failed = Signal(str)  # a message for the user
    cancelled = Signal()
    seriesFound = Signal(object)  # DicomFolder: the folder holds several series, pick one

    def __init__(self, path: str | Path, series_uid: str | None = None, vr_max_voxels: int = 0,
                 parent: QObject | None = None, as_stored: bool = False,
                 folder: DicomFolder | None = None) -> None:
        super().__init__(parent)
        self.path = str(path)
        self.series_uid = series_uid
        self.folder = folder  # the folder's headers, parsed when its series were listed
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
        from inference.io import CTLoadError, LoadCancelled, load_volume, read_dicom_folder

        try:
            uid, folder = self.series_uid, self.folder
            if folder is None and uid is None and Path(self.path).is_dir():
                folder = read_dicom_folder(self.path, progress=self._progress, cancel=self._cancel)
                if sum(s.loadable for s in folder.series) > 1:  # a choice to make: the picker
                    self.seriesFound.emit(folder)
                    return
            if self._cancel.is_set():
                raise LoadCancelled()
            source = folder if folder is not None else self.path
            vol = load_volume(source, uid, progress=self._progress, cancel=self._cancel)
            if self.as_stored:
                vol = vol.as_stored()
            if self._cancel.is_set():
                raise LoadCancelled()
            region = scan_region(vol)  # once: the opening window and the hanging protocol both use it
            window = opening_window(vol, region)
            vr = VRData(vol.voxels, vol.spacing_zyx, self.vr_max_voxels) if self.vr_max_voxels else None
            if self._cancel.is_set():
                raise LoadCancelled()
            self.loaded.emit(LoadedScan(vol, self.path, window, vr, region))
        except LoadCancelled:
            self.cancelled.emit()
        except CTLoadError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread silently
            from inference.crash_log import unexpected_error_sentence

            self.failed.emit(unexpected_error_sentence(exc, f"Opening {Path(self.path).name}"))
