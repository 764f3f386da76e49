"""The chat's part of the main window: the chat dock, a TG-IS heat strip beside every slice
view, the occlusion strip and the marks of the slices a slice-set model was given beside the
axial scroller, and the actions the window puts in its menus (View > Scores table, View >
Occlusion relevance after each answer, Help > About this model, File > Compare models), and
switching the model without closing the scan (the Models dialog's Use)."""

from __future__ import annotations

from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from ..models.chat import ChatModel, ModelInfo
from ..models.reading import LoadedScan, ReadingState
from ..models.slice_scores import SliceScores
from ..models.transcript import Entry
from ..views.heat_strip import HeatStrip, strip_beside
from ..views.occlusion_strip import OcclusionStrip, occlusion_strip_beside
from ..views.sent_marks import SentMarks
from ..views.slice_view import SliceView
from .compare_dialog import CompareDialog
from .compare_run import CompareRequest
from .panel import ChatPanel
from .scores_table import ScoresTable, open_scores_table
from .worker import ChatThread


class ChatComponent(QtCore.QObject):
    """The chat of ``window``: its model, the worker thread the model runs in, the panel in a
    dock, the TG-IS heat strips beside the axial, sagittal and coronal views, the occlusion
    strip and the sent-slice marks beside the axial scroller, and its actions.

    The chat follows ``reading``: the scan in view is the one asked about, and the axial slice
    in view is marked on the strips. Clicking a strip or a mark calls ``go_to_axial_slice``.
    A model without TG-IS (a slice-set model) has no TG-IS strips to draw: they are hidden. The
    occlusion strip shows while the relevance after each answer is on and defined for the
    bundle (any kind). The window adds :attr:`dock`, :attr:`scores_table_action`,
    :attr:`relevance_action` and :attr:`about_model_action`.
    ``slices``: a slice-set model's slice budget (None: its recipe's).
    """

    def __init__(self, window: QtWidgets.QMainWindow, reading: ReadingState, axial: SliceView,
                 sagittal: SliceView, coronal: SliceView, go_to_axial_slice: Callable[[int], None],
                 bundle: str = "default", max_tokens: int = 128, n_threads: int | None = None,
                 slices: int | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.reading = reading
        self.model = ChatModel(max_tokens)
        self.thread = ChatThread(self.model, bundle, n_threads, self, slices)
        self.panel = ChatPanel(self.model, self.thread)
        self.dock = QtWidgets.QDockWidget("Chat", window)
        self.dock.setObjectName("chat_dock")
        self.dock.setWidget(self.panel)
        self.dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)

        # the marks first: each widget goes in right after the image, so they end next to the scroller
        self.sent_marks = SentMarks(self.model.sent, axial.scroller)
        axial.add_beside_scroller(self.sent_marks)
        self.sent_marks.sliceClicked.connect(go_to_axial_slice)
        self.occlusion = SliceScores()  # the selected answer's occlusion relevance
        self.occlusion_strip: OcclusionStrip = occlusion_strip_beside(axial, self.occlusion,
                                                                      axial.scroller.invertedAppearance())
        self.occlusion_strip.sliceClicked.connect(go_to_axial_slice)
        self.occlusion_strip.hide()  # until the model says what it is
        self.scores = SliceScores()
        self.strips: tuple[HeatStrip, ...] = (
            strip_beside(axial, self.scores, axial.scroller.invertedAppearance()),
            strip_beside(sagittal, self.scores, True), strip_beside(coronal, self.scores, True))
        for strip in self.strips:
            strip.sliceClicked.connect(go_to_axial_slice)
        self.model.model_loaded.connect(self._show_strips)
        self.model.model_loaded.connect(lambda info: self.dock.setWindowTitle(f"Chat — {info['name']}"))
        self.model.selection_changed.connect(self._show_scores)
        self.model.relevance.finished.connect(self._on_relevance)
        self.model.relevance.availability_changed.connect(self._show_occlusion_strip)
        reading.scan_changed.connect(self._on_scan)
        reading.position_changed.connect(self._on_position)

        self.relevance_action = QtGui.QAction("&Occlusion relevance after each answer", window)
        self.relevance_action.setCheckable(True)
        self.relevance_action.setChecked(self.model.relevance.enabled)
        self.relevance_action.setToolTip("After each answer, measure how much blanking each slice (its image tokens set to zero) changes it "
                                         "(seconds on the default model, longer on large ones)")
        self.relevance_action.toggled.connect(self.model.relevance.set_enabled)
        self.scores_table_action = QtGui.QAction("&Scores table (TG-IS, occlusion)…", window)
        self.scores_table_action.setShortcut(QtGui.QKeySequence("Ctrl+T"))
        self.scores_table_action.triggered.connect(self.show_scores_table)
        self.panel.tableRequested.connect(self.show_scores_table)
        self.about_model_action = QtGui.QAction("&About this model…", window)
        self.about_model_action.triggered.connect(self.panel.show_about)
        self.compare_action = QtGui.QAction("&Compare models…", window)
        self.compare_action.setToolTip("Ask several installed models one question about this scan, side by side")
        self.compare_action.triggered.connect(self.show_compare)
        self.slices = slices
        self.thread.start()

    def show_scores_table(self) -> ScoresTable:
        """The researcher view: every question's scores, one row each (returns the dialog)."""
        info = self.model.model_info
        bundle = ("", "") if info is None else (info["summary"]["name"], str(info["summary"]["version"]))
        return open_scores_table(self.model.entries, self.window, self.model.transcript.scan_id, bundle)

    def use_bundle(self, name: str) -> bool:
        """Switch the chat to the bundle ``name`` (installed name or folder), keeping the scan:
        it is encoded again for the new model, whose own transcript of it is shown. False when
        a model is loading already (nothing done)."""
        if not self.model.begin_model_change(f"Switching the model to {name}…"):
            return False
        self.thread.switch(name)
        return True

    def compare(self, request: CompareRequest) -> bool:
        """Ask each model of ``request`` in turn on the chat's thread, the chat's own model
        closed meanwhile and loaded again after; False when a model is loading already."""
        if not self.model.begin_model_change("Comparing models: the chat's model is closed meanwhile and "
                                             "comes back after."):
            return False
        self.thread.compare(request)
        return True

    def show_compare(self) -> CompareDialog:
        """The Compare models dialog (returns it)."""
        selected = self.model.selected
        scan = self.reading.scan
        dialog = CompareDialog(self.compare, self.thread.worker, scan.volume if scan is not None else None,
                               self.model.transcript.scan_id, selected.question if selected is not None else None,
                               self.model.max_tokens, self.slices, self.window)
        dialog.show()
        return dialog

    def shutdown(self) -> None:
        """Stop any answer and end the model's thread (before the window closes)."""
        self.panel.shutdown()

    def _show_strips(self, info: ModelInfo) -> None:
        """TG-IS strips only for a model with TG-IS: one without has no scores to draw on them."""
        for strip in self.strips:
            strip.setVisible(info["slice_attention"])
        self._show_occlusion_strip()

    def _show_occlusion_strip(self) -> None:
        """The occlusion strip while its values are computed and defined for the bundle."""
        self.occlusion_strip.setVisible(self.model.model_info is not None and self.model.relevance.shown)

    def _on_relevance(self, entry: Entry) -> None:
        """An answer's relevance came back (or will not): redrawn when it is the one selected."""
        if entry is self.model.selected:
            self._show_scores(entry)

    def _on_position(self, kji: tuple[int, int, int]) -> None:
        self.scores.set_current(kji[0])
        self.occlusion.set_current(kji[0])

    def _on_scan(self, scan: LoadedScan) -> None:
        self.model.set_volume(scan.volume)

    def _show_scores(self, entry: Entry | None) -> None:
        """Draw the selected question's scores (one per stored slice) on every strip, one cell
        per displayed axial slice."""
        scan = self.reading.scan
        scores = None if entry is None else entry.scores
        volume = scan.volume if scan is not None else None
        self.scores.set_scores(scores, volume)
        self.scores.set_question("" if entry is None or entry.scores is None else f"Q{entry.qid}: {entry.shown}")
        self.occlusion.set_scores(None if entry is None else entry.occlusion, volume)
        self.occlusion.set_question(self._occlusion_words(entry))

    def _occlusion_words(self, entry: Entry | None) -> str:
        """What the occlusion strip names: the question, or why it has no values for it."""
        if entry is None:
            return ""
        question = f"Q{entry.qid}: {entry.shown}"
        if entry.occlusion is not None:
            return question
        if self.model.relevance.is_waiting(entry):
            return f"{question} · computing occlusion relevance…"
        if entry.answer is None:
            return f"{question} · occlusion relevance after the answer"
        return f"{question} · no occlusion relevance (stopped, turned off or not computed)"
