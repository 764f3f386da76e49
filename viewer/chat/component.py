"""The chat's part of the main window: the chat dock, a heat strip beside every slice view, the
marks of the slices a slice-set model was given beside the axial scroller, and the actions the
window puts in its menus (View > TG-IS scores table, Help > About this model)."""

from __future__ import annotations

from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from ..models.chat import ChatModel, ModelInfo
from ..models.reading import LoadedScan, ReadingState
from ..models.slice_scores import SliceScores
from ..models.transcript import Entry
from ..views.heat_strip import HeatStrip, strip_beside
from ..views.sent_marks import SentMarks
from ..views.slice_view import SliceView
from .panel import ChatPanel
from .scores_table import ScoresTable, open_scores_table
from .worker import ChatThread


class ChatComponent(QtCore.QObject):
    """The chat of ``window``: its model, the worker thread the model runs in, the panel in a
    dock, the heat strips beside the axial, sagittal and coronal views, the sent-slice marks
    beside the axial scroller, and its actions.

    The chat follows ``reading``: the scan in view is the one asked about, and the axial slice
    in view is marked on the strips. Clicking a strip or a mark calls ``go_to_axial_slice``.
    A model without TG-IS (a slice-set model) has no strips to draw: they are hidden. The window
    adds :attr:`dock`, :attr:`scores_table_action` and :attr:`about_model_action`.
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
        self.scores = SliceScores()
        self.strips: tuple[HeatStrip, ...] = (
            strip_beside(axial, self.scores, axial.scroller.invertedAppearance()),
            strip_beside(sagittal, self.scores, True), strip_beside(coronal, self.scores, True))
        for strip in self.strips:
            strip.sliceClicked.connect(go_to_axial_slice)
        self.model.model_loaded.connect(self._show_strips)
        self.model.selection_changed.connect(self._show_scores)
        reading.scan_changed.connect(self._on_scan)
        reading.position_changed.connect(lambda kji: self.scores.set_current(kji[0]))

        self.scores_table_action = QtGui.QAction("TG-IS &scores table…", window)
        self.scores_table_action.setShortcut(QtGui.QKeySequence("Ctrl+T"))
        self.scores_table_action.triggered.connect(self.show_scores_table)
        self.panel.tableRequested.connect(self.show_scores_table)
        self.about_model_action = QtGui.QAction("&About this model…", window)
        self.about_model_action.triggered.connect(self.panel.show_about)
        self.thread.start()

    def show_scores_table(self) -> ScoresTable:
        """The researcher view: every question's scores, one row each (returns the dialog)."""
        info = self.model.model_info
        bundle = ("", "") if info is None else (info["summary"]["name"], str(info["summary"]["version"]))
        return open_scores_table(self.model.entries, self.window, self.model.transcript.scan_id, bundle)

    def shutdown(self) -> None:
        """Stop any answer and end the model's thread (before the window closes)."""
        self.panel.shutdown()

    def _show_strips(self, info: ModelInfo) -> None:
        """Strips only for a model with TG-IS: one without has no scores to draw on them."""
        for strip in self.strips:
            strip.setVisible(info["slice_attention"])

    def _on_scan(self, scan: LoadedScan) -> None:
        self.model.set_volume(scan.volume)

    def _show_scores(self, entry: Entry | None) -> None:
        """Draw the selected question's scores (one per stored slice) on every strip, one cell
        per displayed axial slice."""
        scan = self.reading.scan
        scores = None if entry is None else entry.scores
        self.scores.set_scores(scores, scan.volume if scan is not None else None)
        self.scores.set_question("" if entry is None or entry.scores is None else f"Q{entry.qid}: {entry.shown}")
