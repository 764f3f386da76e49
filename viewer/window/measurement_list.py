"""Measurements that stay: the rulers and ROIs of each scan are kept on disk (one file per scan,
:mod:`viewer.models.measurement_files`) and drawn again when it is opened again, also after the
viewer was closed (keyed by :func:`inference.io.scan_identity`, as the chat's transcripts are);
a file that cannot be read or written is said in the status bar. View > Measurements lists them
(double-click: go to the slice) and exports them as CSV; :meth:`MeasurementList.sr_items` hands
them to the report as plain dicts."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from ..models.measurement_files import MeasurementFileStore
from ..models.measurement_records import MeasurementRecord, csv_text, sr_items
from ..models.oblique import Oblique
from ..models.reading import LoadedScan, ReadingState
from ..views.slice_view import SliceView


class MeasurementList(QtWidgets.QWidget):
    """The list of the scan's measurements (in a dock the View menu shows), kept in ``store`` (on disk)."""

    def __init__(self, reading: ReadingState, slice_views: Sequence[SliceView], clear_action: QtGui.QAction,
                 parent: QtWidgets.QMainWindow) -> None:
        super().__init__(parent)
        self.reading = reading
        self.slice_views = tuple(slice_views)
        self.main_window = parent  # (the dock becomes this widget's parent: its status bar is the window's)
        self.store = MeasurementFileStore()
        self.scan_key = ""
        self.list = QtWidgets.QListWidget(self)
        self.list.setObjectName("measurement_list")
        self.list.itemDoubleClicked.connect(self._go_to)
        self.export_button = QtWidgets.QPushButton("Export CSV…", self)
        self.export_button.clicked.connect(self._export_dialog)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.export_button)
        self.dock = QtWidgets.QDockWidget("Measurements", parent)
        self.dock.setObjectName("measurements_dock")
        self.dock.setWidget(self)
        parent.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        self.dock.hide()  # opened from View > Measurements
        self.show_action = self.dock.toggleViewAction()
        self.show_action.setText("&Measurements list")
        for v in self.slice_views:
            v.measure.finished.connect(lambda _record: self._keep())
        clear_action.triggered.connect(self._keep)  # after the views cleared theirs
        reading.scan_changed.connect(self._on_scan)

    @property
    def records(self) -> list[MeasurementRecord]:
        """The scan's finished measurements, axial view first."""
        return [r for v in self.slice_views for r in v.measure.records()]

    def sr_items(self) -> list[dict[str, Any]]:
        """The scan's measurements as plain dicts (:func:`viewer.models.measurement_records.sr_items`)."""
        scan = self.reading.scan
        return [] if scan is None else sr_items(self.records, scan.volume)

    def write_csv(self, path: str | Path) -> Path:
        """Write the scan's measurements as CSV (kind, value, unit, slice from 1, plane, points in LPS mm)."""
        path = Path(path)
        path.write_text(csv_text(self.sr_items()), encoding="utf-8")
        return path

    def _on_scan(self, scan: LoadedScan) -> None:
        # The views cleared theirs with the new image: draw this scan's own again, if it had any.
        from inference.io import scan_identity  # loaded with the scan already

        self.scan_key = scan_identity(scan.volume)
        kept = self.store.for_scan(self.scan_key)
        self._tell_problem()
        for v in self.slice_views:
            v.measure.restore(kept)
            v.request_render()
        self._show_list()

    def _keep(self) -> None:
        if self.scan_key:
            self.store.keep(self.scan_key, self.records)
            self._tell_problem()
        self._show_list()

    def _tell_problem(self) -> None:
        """Say in the status bar what the store could not read or write (the records are safe)."""
        if self.store.problem:
            # Once the event loop runs again: opening a scan says "Loaded …" right after this.
            status_bar, text = self.main_window.statusBar(), self.store.problem
            QtCore.QTimer.singleShot(0, status_bar, partial(status_bar.showMessage, text, 10000))

    def _show_list(self) -> None:
        self.list.clear()
        for record in self.records:
            item = QtWidgets.QListWidgetItem(record.words())
            item.setData(Qt.ItemDataRole.UserRole, record)
            self.list.addItem(item)
        self.export_button.setEnabled(self.list.count() > 0)

    def _go_to(self, item: QtWidgets.QListWidgetItem) -> None:
        """Show the slice a measurement lies on (the crosshair moves there); one drawn on a turned
        plane turns the planes back to it, the crosshair on its middle."""
        record: MeasurementRecord = item.data(Qt.ItemDataRole.UserRole)
        if record.oblique is not None:
            middle = (np.asarray(record.ijk0) + np.asarray(record.ijk1)) / 2.0  # (i, j, k)
            self.reading.set_oblique(Oblique(np.reshape(np.asarray(record.oblique, float), (3, 3))))
            self.reading.set_position([int(np.rint(v)) for v in middle[::-1]])
            return
        view = next(v for v in self.slice_views if v.plane.name == record.plane)
        pos = list(self.reading.position)
        pos[view.plane.array_axis] = record.slice_index
        self.reading.set_position(pos)

    def _export_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export measurements", "measurements.csv", "CSV (*.csv)")
        if path:
            self.write_csv(path)
