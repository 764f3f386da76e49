"""The prior beside the current scan: File > Open prior… shows a second scan of the patient in an
axial view of its own, beside the current scan's axial view (the "current | prior" layout).

The prior has a reading state of its own (its scan and crosshair) and follows the current one
through :class:`~viewer.models.prior_link.PriorLink`: scrolling or clicking in either view moves
both to the same place in the patient; the display window, the slab, the zoom and the pan are
the current view's. The chat, the measurements and the report stay with the scan in the main
views: Swap puts the prior there (each scan keeps its own transcript and measurements, which
are keyed by the scan) and the current one beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import Signal

from ..models.layout import LAYOUT_2X2, LAYOUT_PRIOR, ViewLayout
from ..models.planes import AXIAL
from ..models.prior_link import READER, Alignment, PriorLink, offset_words
from ..models.reading import MEASURE_TOOLS, LoadedScan, ReadingState, Tool
from ..views.slice_view import SliceView
from ..views.vtk_data import to_vtk_image
from .scan_loading import ScanLoading

PRIOR_VIEW = "prior_axial"  # the prior view's name in the layouts
NO_PRIOR = "No prior scan: File > Open prior…"
ShowScan = Callable[[LoadedScan], None]  # MainWindow.show_scan


class PriorCompare(QtCore.QObject):
    """The prior scan, its view and its link to the current scan (``reading``, shown in
    ``current``); ``show_scan`` puts a scan in the main views (for :meth:`swap`)."""

    loadFinished = Signal(str)  # as ScanLoading.finished, for the prior's loads
    linkChanged = Signal()  # the alignment, or scrolling together, changed
    priorShown = Signal(object)  # the LoadedScan now shown as the prior (its view cleared of measurements)

    def __init__(self, window: QtWidgets.QMainWindow, reading: ReadingState, current: SliceView,
                 layout: ViewLayout, show_scan: ShowScan, as_stored: bool = False) -> None:
        super().__init__(window)
        self.window = window
        self.current_reading = reading
        self.current = current
        self._layout = layout
        self._show_scan = show_scan
        self.reading = ReadingState()  # the prior's scan and crosshair
        self.view = SliceView(AXIAL, self.reading)
        self.view.setObjectName(f"{PRIOR_VIEW}_view")
        self.view.show_nothing(NO_PRIOR)
        self.scan: LoadedScan | None = None
        self.link: PriorLink | None = None
        self._layout_before = LAYOUT_2X2
        self._syncing = False  # True while one view follows the other (no echo back)
        self._requested: Alignment | None = None  # an offset given before both scans were shown
        self.measurable = True  # the measuring tools draw on the prior (not when it is the current scan itself)
        self.loading = ScanLoading(window, as_stored)
        self.loading.loaded.connect(self.show_prior)
        self.loading.finished.connect(self.loadFinished)
        self.loading.status.connect(lambda text, ms: window.statusBar().showMessage(f"Prior: {text}", ms))
        self.loading.failed.connect(lambda m: window.message_bar.show_message("error", "Could not open the prior", [m]))

        reading.position_changed.connect(self._follow_current)
        self.reading.position_changed.connect(self._follow_prior)
        reading.scan_changed.connect(self._on_current_scan)
        # The current view's window, slab and tool (viewer.window.prior_measurements keeps what is measured).
        reading.window_changed.connect(self.reading.set_window)
        reading.slab_changed.connect(self.reading.set_slab)
        reading.tool_changed.connect(
            lambda t: self.reading.set_tool(Tool.NAVIGATE if t in MEASURE_TOOLS and not self.measurable else t))
        self.view.windowDragged.connect(reading.drag_window)
        current.camera.moved.connect(lambda: self._copy_camera(current, self.view, self._to_prior))
        self.view.camera.moved.connect(lambda: self._copy_camera(self.view, current, self._to_current))
        # The prior is drawn at the current view's zoom and centre, whatever resized or reset either.
        self.view.canvas.GetRenderWindow().AddObserver(
            "StartEvent", lambda *_: self._copy_camera(current, self.view, self._to_prior, render=False))

    # ------------------------------------------------------------ opening and closing
    def open(self, path: str | Path, series_uid: str | None = None) -> None:
        """Start loading ``path`` as the prior (the current scan stays as it is)."""
        self.loading.open(path, series_uid)

    def show_prior(self, scan: LoadedScan, alignment: Alignment | None = None,
                   initial: Alignment | None = None) -> None:
        """Show ``scan`` as the prior, beside the current scan, linked to it by ``alignment``
        (None: ``initial``, or an offset asked for before the scans were shown); ``initial`` is
        what Align as opened goes back to (None:
        :func:`~viewer.models.prior_link.initial_alignment`'s)."""
        vol = scan.volume
        self.scan = scan
        self._image = to_vtk_image(vol.voxels, vol.spacing_zyx)
        self.view.set_image(self._image, vol.shape, vol.orientation, vol.affine)
        self.reading.set_scan(scan)
        self.priorShown.emit(scan)
        self.reading.set_window(self.current_reading.window)
        self.reading.set_slab(self.current_reading.slab)
        self._relink(alignment, initial)
        if self._layout.layout_name != LAYOUT_PRIOR:
            self._layout_before = self._layout.layout_name
            self._layout.set_layout(LAYOUT_PRIOR, "axial")
        self.window.statusBar().showMessage(f"Prior: {self.link.alignment.words()}" if self.link else "", 15000)
        self.view.render_now()

    def close_prior(self) -> None:
        """Put the prior away; the layout goes back to what it was before."""
        if self.scan is None:
            return
        self.loading.cancel()
        self.scan = self.link = None
        self.view.show_nothing(NO_PRIOR)
        self.current.corner.SetText(3, "")
        if self._layout.layout_name == LAYOUT_PRIOR:
            self._layout.set_layout(self._layout_before)
        self.linkChanged.emit()
        self.current.request_render()

    def swap(self) -> None:
        """The prior goes to the main views (the chat, measurements and report follow it) and
        the current scan beside it, still linked as they were."""
        current, prior = self.current_reading.scan, self.scan
        if current is None or prior is None or self.link is None:
            return
        alignment, initial = self.link.alignment.flipped(), self.link.initial.flipped()
        window = self.current_reading.window
        # No prior while the main views change: nothing links (or matches anatomy) the prior to itself.
        self.scan = self.link = None
        self._show_scan(prior)
        self.show_prior(current, alignment, initial)
        self.current_reading.set_window(window)  # the reader's window, not the scan's opening one

    # ------------------------------------------------------------ the link
    def set_linked(self, linked: bool) -> None:
        """Scroll together (True), or each scan on its own (False). Linking again after scrolling
        each on its own takes the two positions shown as one place (the reader's alignment)."""
        if self.link is None:
            return
        if linked and not self.link.linked:
            self.link.link_at(self.current_reading.position, self.reading.position)
        self.link.set_linked(linked)
        self._show_where()
        self.linkChanged.emit()

    def align_initially(self) -> None:
        """Back to the alignment the two scans opened with (by frame of reference, else anatomy, else centres)."""
        if self.link is not None:
            self.link.set_alignment(self.link.initial)
            self.link.set_linked(True)
            self._follow_current(self.current_reading.position)
            self.linkChanged.emit()

    def set_offset(self, offset_mm: Sequence[float]) -> None:
        """Align the prior by ``offset_mm`` (prior LPS = current LPS + offset), as the reader says
        (given before both scans are shown, e.g. ``ctchat view --prior-offset``: once they are)."""
        alignment = Alignment(tuple(float(v) for v in offset_mm), READER)  # type: ignore[arg-type]
        if self.link is None:
            self._requested = alignment
            return
        self.link.set_alignment(alignment)
        self._follow_current(self.current_reading.position)
        self.linkChanged.emit()

    def _relink(self, alignment: Alignment | None, initial: Alignment | None = None) -> None:
        current = self.current_reading.scan
        if current is None or self.scan is None:
            self.link = None
            return
        self.link = PriorLink.between(current.volume, self.scan.volume, initial)
        alignment, self._requested = alignment or self._requested, None
        if alignment is not None:
            self.link.set_alignment(alignment)
        self.link.changed.connect(lambda _a: self._show_where())
        self._follow_current(self.current_reading.position)
        self.linkChanged.emit()

    def _on_current_scan(self, _scan: LoadedScan) -> None:
        if self.scan is not None:
            self._relink(None)  # another current scan: its own alignment with the prior

    def _follow_current(self, kji: Sequence[int]) -> None:
        if self.link is not None and self.link.linked and not self._syncing:
            self._syncing = True
            try:
                self.reading.set_position(self.link.prior_index(kji)[0])
            finally:
                self._syncing = False
        self._show_where()

    def _follow_prior(self, kji: Sequence[int]) -> None:
        if self.link is not None and self.link.linked and not self._syncing:
            self._syncing = True
            try:
                self.current_reading.set_position(self.link.current_index(kji))
            finally:
                self._syncing = False
            self._show_where()

    def _show_where(self) -> None:
        """The prior view's upper right corner: which scan, how it is linked, and whether the
        current crosshair's place lies beyond the prior."""
        if self.link is None or self.scan is None:
            return
        lines = [f"PRIOR  {self._description()}",
                 *(self.link.alignment.short() if self.link.linked else ["not linked: scroll each, then link"])]
        beyond = self.link.beyond_mm(self.current_reading.position) if self.link.linked else 0.0
        if beyond > 0:
            lines.append(f"beyond the prior by {beyond:.0f} mm")
        text = "\n".join(lines)
        if self.view.corner.GetText(3) != text:  # else the prior redraws only when its slice moves
            self.view.corner.SetText(3, text)
            self.view.request_render()
        self.current.corner.SetText(3, "CURRENT")

    def words(self) -> str:
        """The prior and how it is linked, in one line ("" without a prior)."""
        if self.scan is None or self.link is None:
            return ""
        how = self.link.alignment.words() if self.link.linked else "not linked"
        return f"a prior: {self._description()} ({' x '.join(map(str, self.scan.volume.shape[::-1]))} voxels); {how}"

    def _description(self) -> str:
        """The prior's series description, else its file or folder name."""
        scan = self.scan
        assert scan is not None
        return scan.volume.metadata.get("series_description") or Path(scan.path).name

    # ------------------------------------------------------------ zoom and pan
    def _to_prior(self, kji: np.ndarray) -> np.ndarray:
        return self.link.prior_point(kji)  # type: ignore[union-attr]

    def _to_current(self, kji: np.ndarray) -> np.ndarray:
        return self.link.current_point(kji)  # type: ignore[union-attr]

    def _copy_camera(self, src: SliceView, dst: SliceView, src_to_dst: Callable[[np.ndarray], np.ndarray],
                     render: bool = True) -> None:
        """``dst`` at ``src``'s magnification (mm per pixel), centred on the place ``src`` is
        centred on (in-plane only; each keeps its own slice)."""
        if self.link is None or not self.link.linked or self._syncing or src.n_slices == 0 or dst.n_slices == 0:
            return
        s, d = src.renderer.GetActiveCamera(), dst.renderer.GetActiveCamera()
        d.SetParallelScale(s.GetParallelScale())
        focal_kji = (np.array(s.GetFocalPoint()) / src.spacing)[::-1]
        target = np.asarray(src_to_dst(focal_kji), float)[::-1] * dst.spacing
        focal = np.array(d.GetFocalPoint())
        delta = target - focal
        delta[dst.plane.axis] = 0.0  # the depth stays: the camera looks along the slice axis
        d.SetFocalPoint(*(focal + delta))
        d.SetPosition(*(np.array(d.GetPosition()) + delta))
        if render:
            self._syncing = True
            try:
                dst.render_now()
            finally:
                self._syncing = False

    def shutdown(self) -> None:
        """Stop the prior's loads (before the window closes)."""
        self.loading.shutdown()
