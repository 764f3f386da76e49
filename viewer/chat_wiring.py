"""The chat's part of the main window: the chat dock, a heat strip beside every slice view, and
the menu items (View > Scores table, Help > About this model)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6 import QtGui, QtWidgets
from PySide6.QtCore import Qt

from .chat_panel import ChatPanel
from .heat_strip import strip_beside


def build_chat(win: Any, bundle: str, max_tokens: int, n_threads: int | None) -> None:
    """Give ``win`` its chat panel (``win.chat_panel``), the axial strip (``win.heat_strip``)
    and the sagittal and coronal ones (``win.heat_strips`` holds all three)."""
    panel = ChatPanel(bundle, n_threads, max_tokens=max_tokens)
    win.chat_panel = panel
    dock = QtWidgets.QDockWidget("Chat", win)
    dock.setObjectName("chat_dock")
    dock.setWidget(panel)
    dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    win.resizeDocks([dock], [400], Qt.Orientation.Horizontal)
    win.heat_strip = strip_beside(win.axial, win.axial.scroller.invertedAppearance())
    win.heat_strips = (win.heat_strip, strip_beside(win.sagittal, True), strip_beside(win.coronal, True))
    for strip in win.heat_strips:
        strip.sliceClicked.connect(win.go_to_axial_slice)
    panel.scoresShown.connect(lambda scores: show_scores(win, scores))
    for strip in win.heat_strips:
        panel.questionShown.connect(strip.set_question)
    panel.exportRequested.connect(win.report.ask_where_and_write)
    panel.tableRequested.connect(win.show_scores_table)
    _add_menu_items(win, panel)


def show_scores(win: Any, scores: np.ndarray | None) -> None:
    """Draw a question's scores (one per stored slice) on every strip, one cell per displayed
    axial slice: the same slices unless the scan was resampled onto a grid."""
    vol = win.scan.volume if win.scan is not None else None
    if scores is not None and vol is not None and getattr(vol, "original", None) is not None:
        scores = np.interp(vol.grid_to_original(np.arange(vol.shape[0])), np.arange(len(scores)), scores)
    for strip in win.heat_strips:
        strip.set_scores(scores)


def _menu(win: Any, title: str) -> QtWidgets.QMenu:
    """The menu bar's menu called ``title`` (created when there is none yet)."""
    bar = win.menuBar()
    for action in bar.actions():
        if action.menu() is not None and action.text().replace("&", "") == title.replace("&", ""):
            return action.menu()
    return bar.addMenu(title)


def _add_menu_items(win: Any, panel: ChatPanel) -> None:
    view_menu = _menu(win, "&View")
    view_menu.addSeparator()
    win.scores_table_action = view_menu.addAction("TG-IS &scores table…", QtGui.QKeySequence("Ctrl+T"),
                                                  win.show_scores_table)
    help_menu = _menu(win, "&Help")
    win.about_model_action = help_menu.addAction("&About this model…", panel.show_about)
