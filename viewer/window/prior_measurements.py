"""Measurements on the prior: rulers and ellipse ROIs drawn in the prior's view are kept with the
prior scan, in the same store as every scan's (keyed by :func:`inference.io.scan_identity`), so
they come back when the prior opens again, beside a scan or as the scan in view (Swap). A
nodule measured on both scans is how growth is read.

The prior view shows axial measurements only; what the store holds of the prior's other planes
is kept as it is. When the prior is the current scan itself, its measurements are the main
views': the prior view shows them and does not measure.
"""

from __future__ import annotations

from typing import Callable

from PySide6 import QtGui

from ..models.measurement_files import MeasurementFileStore
from ..models.measurement_records import MeasurementRecord, sr_items
from ..models.reading import MEASURE_TOOLS, LoadedScan, ReadingState, Tool
from .prior_compare import PriorCompare

Say = Callable[[str], None]  # a sentence for the status bar


class PriorMeasurements:
    """Restores the prior's measurements when it is shown and keeps them as the reader draws or
    clears (``clear_action``: Clear measurements, which clears the prior's too)."""

    def __init__(self, prior: PriorCompare, current: ReadingState, store: MeasurementFileStore,
                 clear_action: QtGui.QAction, say: Say) -> None:
        self.prior = prior
        self.current = current
        self.store = store
        self.say = say
        self.key = ""  # the prior's scan identity ("" without a prior)
        prior.priorShown.connect(self._on_prior)
        current.scan_changed.connect(lambda _scan: self._on_prior(prior.scan) if prior.scan is not None else None)
        prior.view.measure.finished.connect(lambda _record: self.keep())
        clear_action.triggered.connect(self._clear)

    def _on_prior(self, scan: LoadedScan) -> None:
        from inference.io import scan_identity  # loaded with the scan already

        self.key = scan_identity(scan.volume)
        current = self.current.scan
        self.prior.measurable = current is None or scan_identity(current.volume) != self.key
        tool = self.current.tool  # the prior follows the current tool, but does not measure itself
        self.prior.reading.set_tool(Tool.NAVIGATE if tool in MEASURE_TOOLS and not self.prior.measurable else tool)
        view = self.prior.view
        view.measure.clear()
        view.measure.restore([r for r in self._stored() if r.plane == "axial"])
        view.request_render()

    def sr_items(self) -> list[dict]:
        """The measurements on the prior as plain dicts (:func:`sr_items`), for the report; none
        when the prior is the current scan itself (the main views' are reported)."""
        if self.prior.scan is None or not self.prior.measurable:
            return []
        return sr_items(self.prior.view.measure.records(), self.prior.scan.volume)

    def keep(self) -> None:
        """Write the prior's measurements: those of its view, and the other planes' as stored."""
        if not self.key or not self.prior.measurable:
            return
        others = [r for r in self._stored() if r.plane != "axial"]
        self.store.keep(self.key, [*others, *self.prior.view.measure.records()])
        if self.store.problem:
            self.say(self.store.problem)

    def _stored(self) -> list[MeasurementRecord]:
        records = self.store.for_scan(self.key)
        if self.store.problem:
            self.say(self.store.problem)
        return records

    def _clear(self) -> None:
        if self.prior.scan is not None and self.prior.measurable:
            self.prior.view.measure.clear()
            self.keep()
            self.prior.view.render_now()
