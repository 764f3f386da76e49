"""The main window: three linked slice views, the 3D view, menus, loading and status bar."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

from . import presets, reading_tools, recent
from .layouts import ViewLayouts
from .load_worker import LoadedScan, LoadWorker
from .message_bar import MessageBar
from .planes import AXIAL, CORONAL, SAGITTAL
from .report_export import ReportExport
from .scan_loading import ScanLoading
from .screenshot import grab_from_screen
from .slice_view import TOOL_NAVIGATE, TOOL_WINDOW_LEVEL, SliceView
from .volume_view import VolumeView
from .window_level import WindowLevel

DICOM_FILTER = "CT scans (*.nii *.nii.gz *.dcm *.DCM *.ima *.IMA);;All files (*)"


class MainWindow(QtWidgets.QMainWindow):
    """Four-up CT reading window (axial, 3D / sagittal, coronal, as 3D Slicer's Four-Up)."""

    scanLoaded = Signal(object)  # LoadedScan, after the views show it
    loadFinished = Signal(str)  # "loaded", "failed", "cancelled" or "series"

    def __init__(self, parent: QtWidgets.QWidget | None = None, chat: bool = False,
                 bundle: str = "default", max_tokens: int = 128, n_threads: int | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("ctchat viewer")
        self.setAcceptDrops(True)
        self.scan: LoadedScan | None = None
        self.wl = WindowLevel(400, 40, "Soft tissue")
        self.loading = ScanLoading(self)
        self.loading.loaded.connect(self._on_loaded)
        self.loading.failed.connect(self._on_failed)
        self.loading.finished.connect(self.loadFinished)
        self.loading.status.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.report = ReportExport(self)

        self.axial = SliceView(AXIAL)
        self.coronal = SliceView(CORONAL)
        self.sagittal = SliceView(SAGITTAL)
        self.slice_views = (self.axial, self.coronal, self.sagittal)
        self.volume_view = VolumeView()
        for v in self.slice_views:
            v.setObjectName(f"{v.plane.name}_view")
            v.sliceChanged.connect(lambda _i, v=v: self._sync_from(v))
            v.pointPicked.connect(self.set_position)
            v.windowDragged.connect(self._drag_window)
            v.cursorMoved.connect(self._show_cursor)

        self.message_bar = MessageBar()
        self.layouts = ViewLayouts({"axial": self.axial, "3d": self.volume_view,
                                    "sagittal": self.sagittal, "coronal": self.coronal})
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.layouts, 1)
        self.setCentralWidget(central)

        self._build_status_bar()
        self._build_actions()
        reading_tools.install(self)  # measuring tools, layouts, cine, shortcut list, dark theme
        self.chat_panel = None
        self.heat_strip = None
        if chat:
            self._build_chat(bundle, max_tokens, n_threads)
        self.resize(1400, 900)

    # ------------------------------------------------------------ construction
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.cursor_label = QtWidgets.QLabel("")
        self.cursor_label.setObjectName("cursor_label")
        self.cursor_label.setMinimumWidth(420)
        bar.addPermanentWidget(self.cursor_label)
        bar.addPermanentWidget(self.loading.progress)
        bar.addPermanentWidget(self.loading.cancel_button)

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction("&Open file…", QtGui.QKeySequence.StandardKey.Open, self._open_file_dialog)
        file_menu.addAction("Open &folder…", QtGui.QKeySequence("Ctrl+Shift+O"), self._open_folder_dialog)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction("Save screenshot of &window…", QtGui.QKeySequence("Ctrl+Shift+S"),
                            self._screenshot_window_dialog)
        shot_menu = file_menu.addMenu("Save screenshot of &view")
        for name in ("axial", "coronal", "sagittal", "3d"):
            shot_menu.addAction(name.capitalize() if name != "3d" else "3D",
                                lambda n=name: self._screenshot_view_dialog(n))
        file_menu.addSeparator()
        file_menu.addAction("&Quit", QtGui.QKeySequence.StandardKey.Quit, self.close)

        view_menu = menu.addMenu("&View")
        tools = QtGui.QActionGroup(self)
        self.navigate_action = QtGui.QAction("&Navigate (crosshair)", self, checkable=True,
                                             shortcut=QtGui.QKeySequence("N"))
        self.wl_action = QtGui.QAction("&Window/level tool", self, checkable=True,
                                       shortcut=QtGui.QKeySequence("W"))
        self.navigate_action.setChecked(True)
        self.tool_actions = {TOOL_NAVIGATE: self.navigate_action, TOOL_WINDOW_LEVEL: self.wl_action}
        for action, tool in ((self.navigate_action, TOOL_NAVIGATE), (self.wl_action, TOOL_WINDOW_LEVEL)):
            tools.addAction(action)
            view_menu.addAction(action)
            action.triggered.connect(lambda _c=False, t=tool: self.set_tool(t))
        view_menu.addAction("&Reset views", QtGui.QKeySequence("R"), self.reset_views)
        wl_menu = view_menu.addMenu("Window/level &presets")
        self.preset_actions: list[QtGui.QAction] = []
        for p in presets.window_presets():
            a = wl_menu.addAction(f"{p.name}  ({p.width:.0f}/{p.level:.0f})",
                                  QtGui.QKeySequence(p.key), lambda p=p: self.apply_preset(p.key))
            self.preset_actions.append(a)
        wl_menu.addAction("Default (file / auto)", QtGui.QKeySequence("0"), self.apply_default_window)
        vr_menu = view_menu.addMenu("3D &presets")
        for p in presets.vr_presets():
            vr_menu.addAction(p["name"], lambda i=p["id"]: self.volume_view.set_preset(i))

        toolbar = self.addToolBar("Tools")
        toolbar.setObjectName("tools")
        toolbar.addAction(self.navigate_action)
        toolbar.addAction(self.wl_action)
        toolbar.addSeparator()
        self.wl_label = QtWidgets.QLabel("")
        toolbar.addWidget(self.wl_label)

    def _build_chat(self, bundle: str, max_tokens: int, n_threads: int | None) -> None:
        from .chat_wiring import build_chat

        build_chat(self, bundle, max_tokens, n_threads)  # the dock, the strips, the chat's menu items

    def go_to_axial_slice(self, k: int) -> None:
        """Show axial slice ``k`` (the crosshair and the linked views follow)."""
        pos = list(self.position)
        pos[0] = k
        self.set_position(pos, render_now=True)

    def show_scores_table(self):
        """The researcher view: every question's scores, one row each (returns the dialog)."""
        from .scores_table import ScoresTable

        dialog = ScoresTable(self.chat_panel.entries if self.chat_panel else [], self)
        dialog.show()
        return dialog

    def export_report(self, path: str | Path) -> Path:
        """Write the chat session as a self-contained HTML report (PDF when ``path`` ends in .pdf)."""
        return self.report.write(path)

    # ------------------------------------------------------------ loading
    def open_path(self, path: str | Path, series_uid: str | None = None) -> LoadWorker:
        """Start loading ``path`` in a worker thread; the current scan stays until it succeeds."""
        self.volume_view.ensure_mapper()
        return self.loading.open(path, series_uid, self.volume_view.max_voxels)

    def cancel_load(self) -> None:
        """Cancel the running load (if any); the window keeps the scan it shows."""
        self.loading.cancel()

    @property
    def progress(self) -> QtWidgets.QProgressBar:
        """The loading progress bar in the status bar."""
        return self.loading.progress

    @property
    def cancel_button(self) -> QtWidgets.QPushButton:
        """The status bar's button that cancels a load."""
        return self.loading.cancel_button

    @property
    def series_dialog(self):
        """The series picker shown for the last folder with several series (or None)."""
        return self.loading.series_dialog

    def _on_loaded(self, scan: LoadedScan) -> None:
        self.show_scan(scan)
        recent.add_recent(scan.path)

    def _on_failed(self, message: str) -> None:
        self.message_bar.show_message("error", "Could not open the scan", [message])

    # ------------------------------------------------------------ showing a scan
    def show_scan(self, scan: LoadedScan) -> None:
        """Put a loaded scan in all views (UI thread; fast: data was prepared by the worker)."""
        from .vtk_data import VRData, to_vtk_image

        vol = scan.volume
        self.scan = scan
        self._image = to_vtk_image(vol.voxels, vol.spacing_zyx)
        codes = getattr(vol, "orientation", "LPS") or "LPS"
        for v in self.slice_views:
            v.set_image(self._image, vol.shape, codes, vol.affine)
        self.set_window(scan.window, render=False)
        vr = scan.vr or VRData(vol.voxels, vol.spacing_zyx, self.volume_view.max_voxels)
        self.volume_view.set_vr_data(vr)
        desc = vol.metadata.get("series_description") or ""
        self.setWindowTitle(f"ctchat viewer — {Path(scan.path).name}" + (f" — {desc}" if desc else ""))
        if vol.warnings:
            self.message_bar.show_message(
                "warning", f"{len(vol.warnings)} warning(s) while loading this scan:",
                [w.message for w in vol.warnings])
        else:
            self.message_bar.hide()
        for v in self.slice_views:
            v.canvas.render_now()
        # The CPU ray caster takes a while: let the slice views show first.
        QtCore.QTimer.singleShot(0, self.volume_view.canvas, self.volume_view.canvas.render_now)
        if self.chat_panel is not None:
            self.chat_panel.set_volume(vol)
            self.heat_strip.set_current(self.axial.slice_index)
        self.scanLoaded.emit(scan)

    def render_all(self) -> None:
        """Render all four views now."""
        for v in self.slice_views:
            v.canvas.render_now()
        self.volume_view.canvas.render_now()

    # ------------------------------------------------------------ linking
    @property
    def position(self) -> tuple[int, int, int]:
        """The shared crosshair position ``(k, j, i)``."""
        return self.axial.position

    def set_position(self, kji: Sequence[int], render_now: bool = False) -> None:
        """Move the shared crosshair; views that changed re-render (deferred to the event loop
        unless ``render_now``)."""
        for v in self.slice_views:
            v.set_position(kji, render=render_now)
        if self.heat_strip is not None:
            self.heat_strip.set_current(self.axial.slice_index)

    def _sync_from(self, view: SliceView) -> None:
        # The stepped view has rendered already; the linked ones follow when the loop is idle.
        self.set_position(view.position)

    def _show_cursor(self, kji: tuple[int, int, int] | None) -> None:
        if kji is None or self.scan is None:
            self.cursor_label.setText("")
            return
        vol = self.scan.volume
        k, j, i = kji
        hu = vol.voxels[k, j, i]
        x, y, z = vol.index_to_world(k, j, i)
        self.cursor_label.setText(
            f"HU {float(hu):.0f}   LPS ({x:.1f}, {y:.1f}, {z:.1f}) mm   voxel (i {i}, j {j}, k {k})")

    # ------------------------------------------------------------ window/level
    def set_window(self, wl: WindowLevel, render: bool = True) -> None:
        """Apply a window to the three slice views."""
        self.wl = wl
        for v in self.slice_views:
            v.set_window(wl, render=render)
        self.wl_label.setText(f"  {wl}  ")

    def apply_preset(self, key: str) -> None:
        """Apply the window/level preset bound to number key ``key``."""
        p = presets.window_preset_for_key(key)
        if p is not None:
            self.set_window(WindowLevel(p.width, p.level, p.name))

    def apply_default_window(self) -> None:
        """Back to the file's own window (or the percentile window)."""
        if self.scan is not None:
            self.set_window(self.scan.window)

    def _drag_window(self, dx: float, dy: float) -> None:
        self.set_window(self.wl.dragged(dx, dy, hu_per_pixel=max(1.0, self.wl.width / 200.0)))

    def set_tool(self, tool: str) -> None:
        """Select what the left mouse button does in the slice views."""
        for v in self.slice_views:
            v.tool = tool
        self.tool_actions[tool].setChecked(True)

    def reset_views(self) -> None:
        """Re-fit all slice views and the 3D camera."""
        for v in self.slice_views:
            v.reset_camera()
        self.volume_view.reset_camera()

    # ------------------------------------------------------------ files & dialogs
    def _open_file_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open CT", "", DICOM_FILTER)
        if path:
            self.open_path(path)

    def _open_folder_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open DICOM folder")
        if path:
            self.open_path(path)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = recent.recent_files()
        for p in items:
            self.recent_menu.addAction(p, lambda p=p: self.open_path(p))
        if not items:
            self.recent_menu.addAction("(none)").setEnabled(False)

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

    def view_by_name(self, name: str):
        """The view called ``axial``, ``coronal``, ``sagittal`` or ``3d``."""
        return {"axial": self.axial, "coronal": self.coronal, "sagittal": self.sagittal,
                "3d": self.volume_view}[name]

    def _screenshot_window_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save screenshot", "ctchat.png", "PNG (*.png)")
        if path:
            self.save_window_png(path)

    def _screenshot_view_dialog(self, name: str) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, f"Save {name} view", f"{name}.png", "PNG (*.png)")
        if path:
            self.view_by_name(name).save_png(path)

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802
        if self.chat_panel is not None:
            self.chat_panel.shutdown()
        self.loading.shutdown()
        for v in (*self.slice_views, self.volume_view):
            v.canvas.Finalize()
        super().closeEvent(ev)
