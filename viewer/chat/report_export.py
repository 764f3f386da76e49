"""`ReportExport`: the chat session written as a report, for the main window.

It gathers what the report shows (the whole window, the axial view at each answer's
highest-scored slice) and hands it to :func:`viewer.chat.report.write_report`; the window only
asks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Protocol, Sequence

from PySide6 import QtGui

from ..models.chat import ChatModel
from ..models.prior_link import PriorSummary
from ..models.reading import LoadedScan
from ..models.slice_scores import displayed_slice
from ..models.transcript import Entry
from ..views.slice_view import SliceView


class MeasuredItems(Protocol):
    """The window's measurement list."""

    def sr_items(self) -> list[dict]:
        """The scan's rulers and ROIs as plain dicts."""


class ReportedWindow(Protocol):
    """What the report takes from the window it describes."""

    axial: SliceView

    @property
    def scan(self) -> LoadedScan | None:
        """The scan in view."""

    @property
    def position(self) -> tuple[int, int, int]:
        """The crosshair ``(k, j, i)``."""

    def grab_window(self) -> QtGui.QImage:
        """The whole window as shown on screen."""

    def set_position(self, kji: Sequence[int], render_now: bool = False) -> None:
        """Move the crosshair."""

    @property
    def measurements(self) -> MeasuredItems:
        """The scan's rulers and ROIs (for the report's measurements section)."""

    def comparison(self) -> PriorSummary | None:
        """The prior shown beside the scan and the measurements on it (None without one)."""


class ReportExport:
    """Export the transcripts of a chat, the scan in view first (HTML, or PDF by the file's
    suffix), with pictures of ``window``."""

    def __init__(self, window: ReportedWindow, peak_slices: int = 8) -> None:
        self.window = window
        self.peak_slices = peak_slices

    def write(self, path: str | Path, chat: ChatModel | None) -> Path:
        """Write the report of ``chat`` (None: no chat, the window and the scan only) to ``path``;
        returns the file written."""
        from .report import write_report  # the model's notice (inference.bundle): loaded when a report is written

        scan = self.window.scan
        shots = [("Viewer window", self.window.grab_window())]
        if chat is not None and scan is not None:
            shots += self.peak_slice_images(chat.entries)
        return write_report(path, chat.entries if chat else [], scan.volume if scan else None,
                            chat.model_info if chat else None, shots,
                            chat.transcript.region_notice if chat else "",
                            chat.store.others(chat.transcript) if chat else (),
                            measurements=self.window.measurements.sr_items(),
                            scan_id=chat.transcript.scan_id if chat else "", comparison=self.window.comparison())

    def peak_slice_images(self, entries: Sequence[Entry]) -> list[tuple[str, QtGui.QImage]]:
        """The axial view at each answered question's top slice (the crosshair is put back)."""
        win = self.window
        keep = win.position
        volume = win.scan.volume
        shots = []
        with tempfile.TemporaryDirectory() as tmp:
            for n, entry in enumerate(entries[:self.peak_slices], 1):
                if entry.answer is None or not entry.answer.top_slices:
                    continue
                s = entry.answer.top_slices[0]  # a stored slice: shown at its displayed slice
                k = displayed_slice(volume, s)
                win.axial.set_slice(k)
                path = Path(tmp) / f"q{n}.png"
                win.axial.save_png(str(path))
                shown = "" if volume.original is None else f"; displayed slice {k + 1} of {volume.shape[0]}"
                shots.append((f"Q{n}: stored axial slice {s + 1}, the highest-scored, of {volume.n_original}{shown}",
                              QtGui.QImage(str(path))))
        win.set_position(keep, render_now=True)
        return shots
