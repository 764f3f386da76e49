"""The status bar's read-out of the voxel under the mouse: its HU, LPS position and index."""

from __future__ import annotations

from PySide6 import QtWidgets

from ..models.reading import ReadingState


class CursorReadout(QtWidgets.QLabel):
    """Says what lies under the mouse in a slice view of the scan ``reading`` shows."""

    def __init__(self, reading: ReadingState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("cursor_label")
        self.setMinimumWidth(420)
        self._reading = reading

    def show_voxel(self, kji: tuple[int, int, int] | None, reading: ReadingState | None = None,
                   prefix: str = "") -> None:
        """Describe voxel ``(k, j, i)`` of the scan in view (``reading``: of another scan, e.g. the
        prior, named by ``prefix``); None (the mouse left the image): say nothing."""
        scan = (reading or self._reading).scan
        if kji is None or scan is None:
            self.setText("")
            return
        vol = scan.volume
        k, j, i = kji
        hu = vol.voxels[k, j, i]
        x, y, z = vol.index_to_world(k, j, i)
        self.setText(f"{prefix}HU {float(hu):.0f}   LPS ({x:.1f}, {y:.1f}, {z:.1f}) mm   voxel (i {i}, j {j}, k {k})")
