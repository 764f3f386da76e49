"""The main window: three linked slice views, the 3D view, menus, loading and status bar.

The window composes: the reading state the views share, the views and their layouts, the
components that own their actions (tools, presets, layouts, cine, the chat), the scan loading
and the report export. It puts the components' actions in its menus and tool bar.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

from ..chat.report_export import ReportExport
from ..chat.scores_table import ScoresTable, open_scores_table
from ..models import recent
from ..models.layout import ViewLayout
from ..models.planes import AXIAL, CORONAL, SAGITTAL
from ..models.prior_link import PriorSummary
from ..models.reading import LoadedScan, ReadingState, Tool
from ..models.vr_data import VRData
from ..models.window_level import WindowLevel
from ..views.heat_strip import HeatStrip
from ..views.screenshot import grab_from_screen
from ..views.slice_view import SliceView
from ..views.volume_view import VolumeView
from ..views.vtk_data import to_vtk_image
from .cine import Cine, CineMenu
from .cursor_readout import CursorReadout
from .hanging import Hanging
from .file_menu import FileMenu
from .layouts import LayoutMenu, ViewLayouts
from .load_worker import LoadWorker
from .measurement_list import MeasurementList
from .message_bar import MessageBar
from .pacs_actions import PacsActions
from .preset_menus import VolumePresetMenu, WindowPresetMenu
from .prior_actions import PriorActions
from .prior_compare import PRIOR_VIEW, PriorCompare
from .prior_measurements import PriorMeasurements
from .scan_loading import ScanLoading
from .series_dialog import SeriesDialog
from .shortcuts_dialog import ShortcutsDialog
from .slab_menu import SlabMenu
from .theme import apply_dark_theme
from .tool_actions import ToolActions

if TYPE_CHECKING:
    from ..chat.component import ChatComponent
    from ..chat.panel import ChatPanel


class MainWindow(QtWidgets.QMainWindow):
    """Four-up CT reading window (axial, 3D / sagittal, coronal, as 3D Slicer's Four-Up)."""

    loadFinished = Signal(str)  # "loaded", "failed", "cancelled" or "series"

    def __init__(self, parent: QtWidgets.QWidget | None = None, chat: bool = False, bundle: str = "default",
                 max_tokens: int = 128, n_threads: int | None = None, as_stored: bool = False,
                 slices: int | None = None, hanging: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("ctchat viewer")
        self.setAcceptDrops(True)
        self.reading = ReadingState()
        self.loading = ScanLoading(self, as_stored)
        self.loading.loaded.connect(self._on_loaded)
        self.loading.failed.connect(lambda m: self.message_bar.show_message("error", "Could not open the scan", [m]))
        self.loading.finished.connect(self.loadFinished)
        self.loading.status.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.report = ReportExport(self)

        self.axial = SliceView(AXIAL, self.reading)
        self.coronal = SliceView(CORONAL, self.reading)
        self.sagittal = SliceView(SAGITTAL, self.reading)
        self.slice_views = (self.axial, self.coronal, self.sagittal)
        self.volume_view = VolumeView()
        for v in self.slice_views:
            v.setObjectName(f"{v.plane.name}_view")
            v.windowDragged.connect(self._drag_window)

        self.message_bar = MessageBar()
        self.hanging = Hanging(self.reading, layout := ViewLayout(), hanging)  # a chest: lung | mediastinum
        self.prior = PriorCompare(self, self.reading, self.axial, layout, self.show_scan, as_stored)
        self.layouts = ViewLayouts({"axial": self.axial, "3d": self.volume_view, "sagittal": self.sagittal,
                                    "coronal": self.coronal, "second_axial": self.hanging.view,
                                    PRIOR_VIEW: self.prior.view}, layout)
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.layouts, 1)
        self.setCentralWidget(central)

        self.tools = ToolActions(self.reading, self.slice_views, self)
        self.tool_actions = self.tools.by_tool
        self.measurements = MeasurementList(self.reading, self.slice_views, self.tools.clear_action, self)
        self.prior_measurements = PriorMeasurements(self.prior, self.reading, self.measurements.store,
                                                    self.tools.clear_action, lambda s: self.statusBar().showMessage(s, 10000))
        self.cine = Cine(self)
        self.pacs = PacsActions(self)  # Open from PACS, Save as DICOM (SR + KOS), Send to PACS
        self.prior_actions = PriorActions(self.prior, self)
        self._build_status_bar()
        self._build_menus()
        apply_dark_theme(QtWidgets.QApplication.instance())
        self.chat: ChatComponent | None = None
        if chat:
            self._add_chat(bundle, max_tokens, n_threads, slices)
        self.resize(1400, 900)

    # ------------------------------------------------------------ construction
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.cursor_label = CursorReadout(self.reading)
        for v in self.slice_views:
            v.cursorMoved.connect(self.cursor_label.show_voxel)
        self.prior.view.cursorMoved.connect(lambda kji: self.cursor_label.show_voxel(kji, self.prior.reading, "Prior: "))
        bar.addPermanentWidget(self.cursor_label)
        bar.addPermanentWidget(self.loading.progress)
        bar.addPermanentWidget(self.loading.cancel_button)
        bar.addPermanentWidget(self.prior.loading.progress)
        bar.addPermanentWidget(self.prior.loading.cancel_button)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        prior = self.prior_actions
        self.file_menu = FileMenu(self, menu.addMenu("&File"), [prior.open_file_action, prior.open_folder_action,
                                                                 prior.close_action], self.pacs.actions)
        self.view_menu = view = menu.addMenu("&View")
        view.addActions(self.tools.pointing)
        view.addAction("&Reset views", QtGui.QKeySequence("R"), self.reset_views)
        view.addMenu(WindowPresetMenu(self.set_window, self.apply_default_window, view))
        view.addMenu(VolumePresetMenu(self.volume_view, view))
        view.addMenu(slab_menu := SlabMenu(self.reading, view))
        self.slab_menu = slab_menu
        view.addSeparator()
        view.addActions(self.tools.measuring)
        view.addAction(self.tools.clear_action)
        view.addAction(self.measurements.show_action)
        view.addSeparator()
        layout_menu = LayoutMenu(self.layouts, view)
        self.layout_actions = layout_menu.layout_actions
        view.addMenu(layout_menu)
        view.addMenu(CineMenu(self.cine, self._focused_slice_view, self.statusBar(), view))
        view.addMenu(self.prior_actions.menu)

        toolbar = self.addToolBar("Tools")
        toolbar.setObjectName("tools")
        toolbar.addActions([*self.tools.pointing, *self.tools.measuring])
        toolbar.addSeparator()
        self.wl_label = QtWidgets.QLabel("")
        toolbar.addWidget(self.wl_label)
        self.reading.window_changed.connect(lambda wl: self.wl_label.setText(f"  {wl}  "))

        self.help_menu = menu.addMenu("&Help")
        self.help_menu.addAction("&Keyboard shortcuts…", QtGui.QKeySequence("F1"), self.show_shortcuts)

    def _add_chat(self, bundle: str, max_tokens: int, n_threads: int | None, slices: int | None) -> None:
        from ..chat.component import ChatComponent  # the model's modules load with the chat only

        self.chat = ChatComponent(self, self.reading, self.axial, self.sagittal, self.coronal, self.go_to_axial_slice,
                                  bundle, max_tokens, n_threads, slices)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.chat.dock)
        self.resizeDocks([self.chat.dock], [400], Qt.Orientation.Horizontal)
        self.chat.panel.exportRequested.connect(self._export_report_dialog)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.chat.scores_table_action)
        self.view_menu.addAction(self.chat.relevance_action)
        self.view_menu.addAction(self.chat.compare_action)
        self.help_menu.addAction(self.chat.about_model_action)

    # ------------------------------------------------------------ the chat's parts
    @property
    def chat_panel(self) -> ChatPanel | None:
        """The chat panel (None without the chat)."""
        return self.chat.panel if self.chat else None

    @property
    def heat_strips(self) -> tuple[HeatStrip, ...]:
        """The TG-IS heat strips beside the axial, sagittal and coronal views (none without the chat)."""
        return self.chat.strips if self.chat else ()

    @property
    def heat_strip(self) -> HeatStrip | None:
        """The axial view's heat strip (None without the chat)."""
        return self.chat.strips[0] if self.chat else None

    @property
    def about_model_action(self) -> QtGui.QAction | None:
        """Help > About this model (None without the chat)."""
        return self.chat.about_model_action if self.chat else None

    def go_to_axial_slice(self, k: int) -> None:
        """Show axial slice ``k`` (the crosshair and the linked views follow)."""
        pos = list(self.position)
        pos[0] = k
        self.set_position(pos, render_now=True)

    def show_scores_table(self) -> ScoresTable:
        """The researcher view: every question's scores, one row each (returns the dialog)."""
        return self.chat.show_scores_table() if self.chat else open_scores_table([], self)

    def export_report(self, path: str | Path) -> Path:
        """Write the chat session as a self-contained HTML report (PDF when ``path`` ends in .pdf)."""
        return self.report.write(path, self.chat.model if self.chat else None)

    def _export_report_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export report", "ctchat_report.html",
                                                        "HTML (*.html);;PDF (*.pdf)")
        if path:
            self.export_report(path)

    def show_shortcuts(self) -> ShortcutsDialog:
        """Open the list of every key and mouse binding (returns the dialog)."""
        dialog = ShortcutsDialog(self)
        dialog.show()
        return dialog

    # ------------------------------------------------------------ loading
    def open_path(self, path: str | Path, series_uid: str | None = None) -> LoadWorker:
        """Start loading ``path`` in a worker thread; the current scan stays until it succeeds."""
        self.volume_view.ensure_mapper()
        return self.loading.open(path, series_uid, self.volume_view.max_voxels)

    def comparison(self) -> PriorSummary | None:
        """The prior shown beside the scan and the measurements on it, for the report (None without one)."""
        words = self.prior.words()
        return PriorSummary(words, tuple(self.prior_measurements.sr_items())) if words else None

    def open_prior(self, path: str | Path, series_uid: str | None = None) -> None:
        """Start loading ``path`` as the prior beside the scan in view (File > Open prior)."""
        self.prior.open(path, series_uid)

    @property
    def progress(self) -> QtWidgets.QProgressBar:
        """The loading progress bar in the status bar."""
        return self.loading.progress

    @property
    def cancel_button(self) -> QtWidgets.QPushButton:
        """The status bar's button that cancels a load."""
        return self.loading.cancel_button

    @property
    def series_dialog(self) -> SeriesDialog | None:
        """The series picker shown for the last folder with several series (or None)."""
        return self.loading.series_dialog

    @property
    def recent_menu(self) -> QtWidgets.QMenu:
        """File > Open recent."""
        return self.file_menu.recent_menu

    def _on_loaded(self, scan: LoadedScan) -> None:
        self.show_scan(scan)
        recent.add_recent(scan.path)

    # ------------------------------------------------------------ showing a scan
    @property
    def scan(self) -> LoadedScan | None:
        """The scan in view."""
        return self.reading.scan

    def show_scan(self, scan: LoadedScan) -> None:
        """Put a loaded scan in all views (UI thread; fast: data was prepared by the worker)."""
        vol = scan.volume
        self._image = to_vtk_image(vol.voxels, vol.spacing_zyx)
        for v in self.slice_views:
            v.set_image(self._image, vol.shape, vol.orientation, vol.affine)
        self.hanging.open_scan(scan, self._image, self.set_window)  # the layout and windows it opens in
        vr = scan.vr or VRData(vol.voxels, vol.spacing_zyx, self.volume_view.max_voxels)
        self.volume_view.set_vr_data(vr)
        self.volume_view.set_orientation(vol.orientation)
        desc = vol.metadata.get("series_description") or ""
        self.setWindowTitle(f"ctchat viewer — {Path(scan.path).name}" + (f" — {desc}" if desc else ""))
        if vol.warnings:
            self.message_bar.show_message(
                "warning", f"{len(vol.warnings)} warning(s) while loading this scan:",
                [w.message for w in vol.warnings])
        else:
            self.message_bar.hide()
        for v in self.slice_views:
            v.render_now()
        # The CPU ray caster takes a while: let the slice views show first.
        QtCore.QTimer.singleShot(0, self.volume_view.canvas, self.volume_view.canvas.render_now)
        self.reading.set_scan(scan)  # the chat asks about it from now on

    def render_all(self) -> None:
        """Render all four views now."""
        for v in self.slice_views:
            v.render_now()
        self.volume_view.canvas.render_now()

    # ------------------------------------------------------------ linking
    @property
    def position(self) -> tuple[int, int, int]:
        """The shared crosshair position ``(k, j, i)``."""
        return self.reading.position

    def set_position(self, kji: Sequence[int], render_now: bool = False) -> None:
        """Move the shared crosshair; views that changed re-render (deferred to the event loop
        unless ``render_now``)."""
        self.reading.set_position(kji)
        if render_now:
            for v in self.slice_views:
                v.render_if_requested()

    # ------------------------------------------------------------ window/level and tools
    def set_window(self, wl: WindowLevel, render: bool = True) -> None:
        """Apply a window to the three slice views (drawn now unless ``render`` is False)."""
        self.reading.set_window(wl)
        if render:
            for v in self.slice_views:
                v.render_now()

    def apply_default_window(self) -> None:
        """Back to the window the scan opened in (the file's own, its region's preset or the percentile window)."""
        if self.scan is not None:
            self.set_window(self.scan.window)

    def _drag_window(self, dx: float, dy: float) -> None:
        self.reading.drag_window(dx, dy)
        for v in self.slice_views:
            v.render_now()

    def set_tool(self, tool: Tool) -> None:
        """Select what the left mouse button does in the slice views."""
        self.reading.set_tool(tool)

    def reset_views(self) -> None:
        """Re-fit all slice views and the 3D camera; oblique planes turn back to plain."""
        self.reading.plain_planes()
        for v in self.slice_views:
            v.reset_camera()
        self.volume_view.reset_camera()

    def _focused_slice_view(self) -> SliceView:
        """The slice view that has the keyboard focus (the last one clicked), else the axial view."""
        name = self.layouts.focused_view()
        return next((v for v in self.slice_views if v.plane.name == name), self.axial)

    # ------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            # Several files dropped (the slices of a series): open the folder that holds them.
            target = paths[0] if len(paths) == 1 else os.path.commonpath(paths)
            self.open_path(target)

    # ------------------------------------------------------------ screenshots
    def grab_window(self) -> QtGui.QImage:
        """The whole window as shown on screen (VTK views included)."""
        self.render_all()
        QtWidgets.QApplication.processEvents()
        self.render_all()
        return grab_from_screen(self)

    def save_window_png(self, path: str | Path) -> None:
        """Screenshot of the whole window to PNG."""
        if not self.grab_window().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")

    def view_by_name(self, name: str) -> SliceView | VolumeView:
        """The view called ``axial``, ``coronal``, ``sagittal``, ``3d`` or ``prior_axial``."""
        return {"axial": self.axial, "coronal": self.coronal, "sagittal": self.sagittal,
                "3d": self.volume_view, PRIOR_VIEW: self.prior.view}[name]

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        if self.chat is not None:
            self.chat.shutdown()
        self.loading.shutdown()
        self.pacs.shutdown()
        self.prior.shutdown()
        for v in (*self.slice_views, self.volume_view, self.hanging.view, self.prior.view):
            v.canvas.Finalize()
        super().closeEvent(ev)
