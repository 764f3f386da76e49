"""The chat panel: question box, streamed answer, stop, history, quick actions, model facts.

The model runs in a :class:`viewer.chat_worker.ChatThread`; this panel only keeps the
transcript of the current scan and says which answer's slice scores the heat strip shows.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6 import QtWidgets
from PySide6.QtCore import Signal

from inference.bundle import model_notice
from inference.question import Question, QuestionError

from .chat_worker import ChatThread, Request


@dataclass
class Entry:
    """One question of the transcript and its (possibly partial) answer."""

    qid: int
    question: Question
    text: str = ""
    answer: Any = None  # inference.chat.session.Answer once finished
    error: str = ""

    @property
    def task(self) -> str:
        """The question's task (``open``, ``choice``, ``yes_no``, ``report``)."""
        return self.question.task

    @property
    def shown(self) -> str:
        """The question as the transcript shows it, a choice question's options after it."""
        options = "  [" + " / ".join(self.question.choices) + "]" if self.question.choices else ""
        return self.question.shown + options

    @property
    def stopped(self) -> bool:
        """True when the reader stopped the answer (what streamed is kept)."""
        return bool(self.answer is not None and self.answer.cancelled)

    @property
    def scores(self) -> np.ndarray | None:
        """TG-IS scores per original slice, when answered."""
        if self.answer is None or self.answer.original_scores is None:
            return None
        return np.asarray(self.answer.original_scores)

    def shown_text(self) -> str:
        """The answer as the reader sees it."""
        if self.error:
            return f"(failed: {self.error})"
        text = self.text.strip()
        if self.stopped:
            return (text + " (stopped)").strip()
        return text if self.answer is not None else text + " …"

    def label(self) -> str:
        """One line for the history list."""
        mark = " (stopped)" if self.stopped else (" …" if self.answer is None and not self.error else "")
        return f"{self.qid}. {self.shown}{mark}"


YES_NO_TIP = "Does this image show signs of the chosen disease?"
NOT_TRAINED_TIP = "This model was not trained for this question"


class ChatPanel(QtWidgets.QWidget):
    """Ask about the scan in view; shows the answer as it streams and keeps the history."""

    scoresShown = Signal(object)  # np.ndarray per original slice, or None
    answerFinished = Signal(object)  # Entry
    stateChanged = Signal(str)  # "starting", "failed", "encoding", "ready", "answering"
    exportRequested = Signal()
    tableRequested = Signal()

    def __init__(self, bundle: str = "default", n_threads: int | None = None, max_tokens: int = 128,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat_panel")
        self.max_tokens = max_tokens
        self.entries: list[Entry] = []
        self.model_info: dict[str, Any] | None = None
        self.state = "starting"
        self.volume: Any = None
        self._generation = 0
        self._encoded = -1
        self._next_qid = 1
        self._running: tuple[Entry, Request] | None = None
        self._build()
        self.chat = ChatThread(bundle, n_threads, self)
        w = self.chat.worker
        w.ready.connect(self._on_ready)
        w.failed.connect(self._on_failed)
        w.scanEncoded.connect(self._on_encoded)
        w.scanFailed.connect(self._on_scan_failed)
        w.piece.connect(self._on_piece)
        w.answered.connect(self._on_answered)
        w.askFailed.connect(self._on_ask_failed)
        self._set_state("starting", "Starting the model…")
        self.chat.start()

    # ------------------------------------------------------------ construction
    def _build(self) -> None:
        from inference.llm.prompt import ct_rate_diseases

        self.banner = QtWidgets.QLabel("")  # text and colour once the model says what it is
        self.banner.setObjectName("untrained_banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.model_label = QtWidgets.QLabel("")
        self.model_label.setObjectName("model_label")
        self.model_label.setWordWrap(True)
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("chat_status")
        self.status.setWordWrap(True)

        self.history = QtWidgets.QListWidget()
        self.history.setObjectName("chat_history")
        self.history.currentRowChanged.connect(self._on_select)
        self.answer_view = QtWidgets.QTextBrowser()
        self.answer_view.setObjectName("answer_view")

        self.question_box = QtWidgets.QLineEdit()
        self.question_box.setObjectName("question_box")
        self.question_box.setPlaceholderText("Ask about this scan…")
        self.question_box.returnPressed.connect(self.ask_typed)
        self.choices_box = QtWidgets.QLineEdit()
        self.choices_box.setObjectName("choices_box")
        self.choices_box.setPlaceholderText("Multiple choice: options separated by ;  (empty: open question)")
        self.ask_button = QtWidgets.QPushButton("Ask")
        self.ask_button.clicked.connect(self.ask_typed)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setObjectName("stop_button")
        self.stop_button.clicked.connect(self.stop)
        self.findings_button = QtWidgets.QPushButton("Write the findings")
        self.findings_button.clicked.connect(lambda: self.ask(Question.findings()))
        self.disease_box = QtWidgets.QComboBox()
        self.disease_box.setObjectName("disease_box")
        self.disease_box.addItems(ct_rate_diseases())
        self.yes_no_button = QtWidgets.QPushButton("Yes/no")
        self.yes_no_button.setToolTip(YES_NO_TIP)
        self.yes_no_button.clicked.connect(lambda: self.ask(Question.yes_no(self.disease_box.currentText())))
        self.table_button = QtWidgets.QPushButton("Scores table…")
        self.table_button.clicked.connect(self.tableRequested.emit)
        self.export_button = QtWidgets.QPushButton("Export report…")
        self.export_button.clicked.connect(self.exportRequested.emit)

        ask_row = QtWidgets.QHBoxLayout()
        ask_row.addWidget(self.question_box, 1)
        ask_row.addWidget(self.ask_button)
        ask_row.addWidget(self.stop_button)
        quick = QtWidgets.QHBoxLayout()
        quick.addWidget(self.findings_button)
        quick.addWidget(self.disease_box, 1)
        quick.addWidget(self.yes_no_button)
        tools = QtWidgets.QHBoxLayout()
        tools.addWidget(self.table_button)
        tools.addWidget(self.export_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for w in (self.banner, self.model_label, self.status):
            layout.addWidget(w)
        layout.addWidget(QtWidgets.QLabel("History (this scan):"))
        layout.addWidget(self.history, 1)
        layout.addWidget(self.answer_view, 2)
        layout.addLayout(ask_row)
        layout.addWidget(self.choices_box)
        layout.addLayout(quick)
        layout.addLayout(tools)
        self._update_buttons()

    # ------------------------------------------------------------ state
    def _set_state(self, state: str, message: str, error: bool = False) -> None:
        self.state = state
        self.status.setText(message)
        self.status.setStyleSheet("color:#ff8080; font-weight:bold;" if error else "")
        self._update_buttons()
        self.stateChanged.emit(state)

    def _update_buttons(self) -> None:
        can_ask = self.state == "ready"
        # a model answers only the tasks it has prompts for (a published model: no yes/no)
        tasks = set(self.model_info["summary"].get("tasks", ())) if self.model_info else set()
        for w, task in ((self.ask_button, "open"), (self.findings_button, "report"), (self.yes_no_button, "yes_no")):
            allowed = not tasks or task in tasks
            w.setEnabled(can_ask and allowed)
            w.setToolTip((YES_NO_TIP if w is self.yes_no_button else "") if allowed else NOT_TRAINED_TIP)
        self.disease_box.setEnabled(not tasks or "yes_no" in tasks)
        self.stop_button.setEnabled(self.state == "answering")

    def _on_ready(self, info: dict) -> None:
        self.model_info = info
        # always on: red for untrained weights, amber for the trained demonstration model
        self.banner.setText(model_notice(info["trained"], info["summary"].get("notice", "")))
        self.banner.setStyleSheet(f"background:{'#6a4a10' if info['trained'] else '#6a1d1d'}; color:#fff0d6;"
                                  " padding:4px; font-weight:bold;")
        self.banner.setVisible(True)
        lo, hi = info["hu_window"]
        grid = " × ".join(str(n) for n in info["grid"])
        self.model_label.setText(
            f"Model: {info['name']}  ·  input: recipe {info['recipe']}, HU window [{lo:g}, {hi:g}], "
            f"grid {grid}  ·  vision on {', '.join(info['providers'])}; "
            f"LLM llama.cpp on CPU, {info['threads']} thread(s)"
            + ("" if info["slice_attention"] else "  ·  no slice attention: this model has no TG-IS, "
                                                  "so no heat strip is drawn"))
        if self.volume is not None:
            self._encode()
        else:
            self._set_state("idle", "Model ready; open a scan to ask about it.")

    def _on_failed(self, message: str) -> None:
        self._set_state("failed", f"The model could not be loaded; the viewer works without chat. {message}",
                        error=True)

    # ------------------------------------------------------------ scans
    def set_volume(self, volume: Any) -> None:
        """A new scan is shown: start a new transcript and encode it for the model."""
        if self._running is not None:
            self._running[1].cancel.set()
            self._running = None
        self.volume = volume
        self._generation += 1
        self.entries.clear()
        self.history.clear()
        self.answer_view.clear()
        self.scoresShown.emit(None)
        if self.model_info is not None:
            self._encode()

    def _encode(self) -> None:
        self._set_state("encoding", "Encoding the scan for the model…")
        self.chat.encode(self._generation, self.volume)

    def _on_encoded(self, generation: int, timings: dict) -> None:
        if generation != self._generation:
            return
        self._encoded = generation
        total = sum(timings.values())
        self._set_state("ready", f"Ready: scan encoded in {total:.1f} s. Ask a question.")

    def _on_scan_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self._set_state("scan_failed", f"The model could not read this scan: {message}", error=True)

    # ------------------------------------------------------------ asking
    def ask_typed(self) -> None:
        """Ask what is in the question box (multiple choice when options are given)."""
        text = self.question_box.text().strip()
        choices = tuple(c.strip() for c in self.choices_box.text().split(";") if c.strip())
        if not text:
            return
        try:
            question = Question("choice" if choices else "open", text, choices)
        except QuestionError as exc:
            self.status.setText(f"{exc}.")
            return
        if self.ask(question) is not None:
            self.question_box.clear()

    def ask(self, question: Question | str, max_tokens: int | None = None) -> Entry | None:
        """Send a question (or an open question's text) to the model; returns its transcript
        entry (None when not ready)."""
        if self.state != "ready":
            return None
        if isinstance(question, str):
            question = Question("open", question)
        entry = Entry(self._next_qid, question)
        self._next_qid += 1
        q = Request(question, max_tokens or self.max_tokens)
        self._running = (entry, q)
        self.entries.append(entry)
        self.history.addItem(entry.label())
        self.history.setCurrentRow(len(self.entries) - 1)
        self._set_state("answering", "Answering… (Stop keeps what has streamed)")
        self.chat.ask(entry.qid, q)
        return entry

    def stop(self) -> None:
        """Stop the answer being generated."""
        if self._running is not None:
            self._running[1].cancel.set()

    def _find(self, qid: int) -> Entry | None:
        return next((e for e in self.entries if e.qid == qid), None)

    def _on_piece(self, qid: int, piece: str) -> None:
        entry = self._find(qid)
        if entry is None:
            return
        entry.text += piece
        if self.selected() is entry:
            self._show(entry)

    def _finish(self, entry: Entry) -> None:
        self._running = None
        row = self.entries.index(entry)
        self.history.item(row).setText(entry.label())
        self._set_state("ready", "Ready. Ask another question.")
        if self.selected() is entry:
            self._show(entry)
            self.scoresShown.emit(entry.scores)
        self.answerFinished.emit(entry)

    def _on_answered(self, qid: int, answer: Any) -> None:
        entry = self._find(qid)
        if entry is None:
            return
        entry.answer = answer
        entry.text = answer.text
        self._finish(entry)

    def _on_ask_failed(self, qid: int, message: str) -> None:
        entry = self._find(qid)
        if entry is None:
            return
        entry.error = message
        self._finish(entry)

    # ------------------------------------------------------------ history
    def selected(self) -> Entry | None:
        """The entry chosen in the history."""
        row = self.history.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def _on_select(self, row: int) -> None:
        entry = self.entries[row] if 0 <= row < len(self.entries) else None
        if entry is None:
            self.answer_view.clear()
            return
        self._show(entry)
        self.scoresShown.emit(entry.scores)

    def _show(self, entry: Entry) -> None:
        parts = [f"<p><b>Q:</b> {html.escape(entry.shown)}</p>",
                 f"<p><b>A:</b> {html.escape(entry.shown_text())}</p>"]
        if entry.answer is not None:
            a = entry.answer
            where = f"{a.top_range()} scored highest" if a.top_slices else a.top_range()[:1].upper() + a.top_range()[1:]
            parts.append(f"<p><i>{html.escape(where)}</i> · {a.n_tokens} tokens, "
                         f"{a.timings.get('total', 0.0):.1f} s</p>")
        if self.model_info is not None and not self.model_info["trained"]:
            parts.append(f"<p style='color:#c04040'>{model_notice(False)}.</p>")
        self.answer_view.setHtml("".join(parts))

    def shutdown(self) -> None:
        """Stop any answer and end the model's thread (before the window closes)."""
        self.stop()
        self.chat.shutdown()
