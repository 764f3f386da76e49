"""`ReportExport`: the chat session written as a report, for the main window.

It gathers what the report shows (the whole window, the axial view at each answer's
highest-scored slice) and hands it to :func:`viewer.report.write_report`; the window only asks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PySide6 import QtGui, QtWidgets


class ReportExport:
    """Export the transcripts of ``window``'s chat panel, the scan in view first (HTML, or PDF
    by the file's suffix)."""

    def __init__(self, window: Any, peak_slices: int = 8) -> None:
        self.window = window
        self.peak_slices = peak_slices

    def write(self, path: str | Path) -> Path:
        """Write the report to ``path``; returns the file written."""
        from .report import write_report

        win = self.window
        panel = win.chat_panel
        shots = [("Viewer window", win.grab_window())]
        if panel is not None and win.scan is not None:
            shots += self.peak_slice_images(panel.entries)
        return write_report(path, panel.entries if panel else [], win.scan.volume if win.scan else None,
                            panel.model_info if panel else None, shots,
                            panel.transcript.region_notice if panel else "",
                            panel.store.others(panel.transcript) if panel else ())

    def peak_slice_images(self, entries) -> list[tuple[str, QtGui.QImage]]:
        """The axial view at each answered question's top slice (the crosshair is put back)."""
        win = self.window
        keep = win.position
        shots = []
        with tempfile.TemporaryDirectory() as tmp:
            for n, entry in enumerate(entries[:self.peak_slices], 1):
                if entry.answer is None or not entry.answer.top_slices:
                    continue
                k = entry.answer.top_slices[0]
                win.axial.set_slice(k, render=True)
                path = Path(tmp) / f"q{n}.png"
                win.axial.save_png(str(path))
                shots.append((f"Q{n}: axial slice {k + 1}, the highest-scored", QtGui.QImage(str(path))))
        win.set_position(keep, render_now=True)
        return shots

    def ask_where_and_write(self) -> None:
        """The File dialog, then :meth:`write`."""
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Export report", "ctchat_report.html",
                                                        "HTML (*.html);;PDF (*.pdf)")
        if path:
            self.write(path)
