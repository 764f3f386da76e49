"""The chat panel: question box, the scan's transcript (streamed answers, notes, copy), stop,
quick actions, model facts.

The model runs in a :class:`viewer.chat_worker.ChatThread`; this panel keeps a transcript per
scan (:mod:`viewer.transcript`) and says which answer's slice scores the heat strip shows.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import Signal

from inference.bundle import model_notice
from inference.question import Question, QuestionError

from .answer_stream import AnswerStream
from .chat_worker import ChatThread, Request
from .transcript import COPY_SCHEME, Entry, Transcript, TranscriptStore, scan_key, transcript_html

YES_NO_TIP = "Does this image show signs of the chosen disease?"
NOT_TRAINED_TIP = "This model was not trained for this question"


class ChatPanel(QtWidgets.QWidget):
    """Ask about the scan in view; shows the answer as it streams and keeps the history."""

    scoresShown = Signal(object)  # np.ndarray per original slice, or None
    questionShown = Signal(str)  # the question whose scores the strip shows ("" for none)
    answerFinished = Signal(object)  # Entry
    stateChanged = Signal(str)  # "starting", "failed", "encoding", "ready", "answering"
    exportRequested = Signal()
    tableRequested = Signal()

    def __init__(self, bundle: str = "default", n_threads: int | None = None, max_tokens: int = 128,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat_panel")
        self.max_tokens = max_tokens
        self.store = TranscriptStore()
        self.transcript = Transcript()
        self.model_info: dict[str, Any] | None = None
        self.state = "starting"
        self.volume: Any = None
        self._generation = 0
        self._encoded = -1
        self._next_request = 1  # worker request ids, unique over all scans' transcripts
        self._pending: dict[int, Entry] = {}
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

        self.region_label = QtWidgets.QLabel("")  # the scan is outside the model's trained region
        self.region_label.setObjectName("region_notice")
        self.region_label.setWordWrap(True)
        self.region_label.setStyleSheet("background:#6a1d1d; color:#fff0d6; padding:4px; font-weight:bold;")
        self.region_label.hide()

        self.history = QtWidgets.QListWidget()
        self.history.setObjectName("chat_history")
        self.history.currentRowChanged.connect(self._on_select)
        self.answer_view = QtWidgets.QTextBrowser()  # the scan's whole transcript
        self._stream = AnswerStream(self.answer_view)  # the streaming answer, appended in place
        self.answer_view.setObjectName("answer_view")
        self.answer_view.setOpenLinks(False)
        self.answer_view.anchorClicked.connect(self._on_link)

        self.question_box = QtWidgets.QLineEdit()
        self.question_box.setObjectName("question_box")
        self.question_box.setPlaceholderText("Ask about this scan…")
        self.question_box.returnPressed.connect(self.ask_typed)
        self.choices_box = QtWidgets.QLineEdit()
        self.choices_box.setObjectName("choices_box")
        self.choices_box.setPlaceholderText("Multiple choice: options separated by ;  (for the next question only)")
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
        self.copy_button = QtWidgets.QPushButton("Copy answer")
        self.copy_button.setToolTip("Copy the selected answer (each answer in the transcript has its own Copy link)")
        self.copy_button.clicked.connect(lambda: self.selected() is not None and self.copy_answer(self.selected().qid))
        self.about_button = QtWidgets.QPushButton("About this model…")
        self.about_button.clicked.connect(self.show_about)

        ask_row = QtWidgets.QHBoxLayout()
        ask_row.addWidget(self.question_box, 1)
        ask_row.addWidget(self.ask_button)
        ask_row.addWidget(self.stop_button)
        quick = QtWidgets.QHBoxLayout()
        quick.addWidget(self.findings_button)
        quick.addWidget(self.disease_box, 1)
        quick.addWidget(self.yes_no_button)
        tools = QtWidgets.QHBoxLayout()
        for w in (self.copy_button, self.table_button, self.export_button, self.about_button):
            tools.addWidget(w)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for w in (self.banner, self.model_label, self.region_label, self.status):
            layout.addWidget(w)
        layout.addWidget(QtWidgets.QLabel("Questions (this scan; kept when another scan is opened):"))
        layout.addWidget(self.history, 1)
        layout.addWidget(self.answer_view, 3)
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
        self.copy_button.setEnabled(self.selected() is not None and self.selected().answer is not None)

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
    @property
    def entries(self) -> list[Entry]:
        """The questions asked about the scan in view."""
        return self.transcript.entries

    def set_volume(self, volume: Any) -> None:
        """A new scan is shown: put the current transcript aside, show the scan's own (empty the
        first time, restored when it comes back) and encode it for the model."""
        from .report import scan_summary

        if self._running is not None:
            self._running[1].cancel.set()  # its stopped answer stays in its own scan's transcript
            self._running = None
        self.volume = volume
        self._generation += 1
        self.transcript = self.store.for_scan(scan_key(volume))
        self.transcript.description = scan_summary(volume)
        self._show_region()
        self.history.blockSignals(True)
        self.history.clear()
        self.history.addItems([e.label() for e in self.entries])
        self.history.setCurrentRow(len(self.entries) - 1)
        self.history.blockSignals(False)
        self._on_select(self.history.currentRow())
        if self.entries:
            self.status.setText(f"This scan's {len(self.entries)} earlier question(s) are restored.")
        if self.model_info is not None:
            self._encode()

    def _show_region(self) -> None:
        notice = self.transcript.region_notice
        self.region_label.setText(f"⚠ {notice}")
        self.region_label.setVisible(bool(notice))

    def _encode(self) -> None:
        self._set_state("encoding", "Encoding the scan for the model…")
        self.chat.encode(self._generation, self.volume)

    def _on_encoded(self, generation: int, result: dict) -> None:
        if generation != self._generation:
            return
        self._encoded = generation
        region = result["region"]
        self.transcript.region_notice = region.message if region.warns else ""
        self._show_region()  # before any answer
        self._render()
        total = sum(result["timings"].values())
        self._set_state("ready", f"Ready: scan encoded in {total:.1f} s. Ask a question.")

    def _on_scan_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self._set_state("scan_failed", f"The model could not read this scan: {message}", error=True)

    # ------------------------------------------------------------ asking
    def ask_typed(self) -> None:
        """Ask what is in the question box: multiple choice when options are given (they belong
        to this question and are cleared with it), the report task for a request for the
        findings, else an open question."""
        text = self.question_box.text().strip()
        choices = tuple(c.strip() for c in self.choices_box.text().split(";") if c.strip())
        if not text:
            return
        try:
            question = Question.typed(text, choices)
        except QuestionError as exc:
            self.status.setText(f"{exc}.")
            return
        if self.ask(question) is not None:
            self.question_box.clear()
            self.choices_box.clear()

    def ask(self, question: Question | str, max_tokens: int | None = None) -> Entry | None:
        """Send a question (or an open question's text) to the model; returns its transcript
        entry (None when not ready)."""
        if self.state != "ready":
            return None
        if isinstance(question, str):
            question = Question("open", question)
        entry = Entry(self.transcript.next_qid, question)
        self.transcript.next_qid += 1
        q = Request(question, max_tokens or self.max_tokens)
        self._running = (entry, q)
        self.entries.append(entry)
        self.history.addItem(entry.label())
        self.history.setCurrentRow(len(self.entries) - 1)
        self._set_state("answering", "Answering… (Stop keeps what has streamed)")
        rid, self._next_request = self._next_request, self._next_request + 1
        self._pending[rid] = entry
        self.chat.ask(rid, q)
        return entry

    def stop(self) -> None:
        """Stop the answer being generated."""
        if self._running is not None:
            self._running[1].cancel.set()

    def _on_piece(self, rid: int, piece: str) -> None:
        entry = self._pending.get(rid)
        if entry is None:
            return
        entry.text += piece
        if self.selected() is entry:
            shown = entry.text.strip()
            if not self._stream.extend(shown):
                self._render()
                self._stream.anchor(shown)

    def _finish(self, entry: Entry) -> None:
        if self._running is not None and self._running[0] is entry:
            self._running = None
        if entry in self.entries:  # else it belongs to a scan no longer shown (stopped when it went)
            self.history.item(self.entries.index(entry)).setText(entry.label())
            if self.state == "answering":
                self._set_state("ready", "Ready. Ask another question.")
            if self.selected() is entry:
                self._render()
                self._emit_scores(entry)
        self.answerFinished.emit(entry)

    def _on_answered(self, rid: int, answer: Any) -> None:
        entry = self._pending.pop(rid, None)
        if entry is None:
            return
        entry.answer = answer
        entry.text = answer.text
        self._finish(entry)

    def _on_ask_failed(self, rid: int, message: str) -> None:
        entry = self._pending.pop(rid, None)
        if entry is None:
            return
        entry.error = message
        self._finish(entry)

    # ------------------------------------------------------------ transcript
    def selected(self) -> Entry | None:
        """The entry chosen in the history."""
        row = self.history.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def _on_select(self, row: int) -> None:
        self._render()
        self._update_buttons()
        entry = self.entries[row] if 0 <= row < len(self.entries) else None
        self._emit_scores(entry)

    def _emit_scores(self, entry: Entry | None) -> None:
        self.scoresShown.emit(None if entry is None else entry.scores)
        self.questionShown.emit("" if entry is None or entry.scores is None else f"Q{entry.qid}: {entry.shown}")

    def _render(self) -> None:
        """Show the scan's transcript, the selected question highlighted and in view."""
        selected = self.selected()
        self._stream.forget()
        self.answer_view.setHtml(transcript_html(self.entries, selected, self.transcript.region_notice))
        if self.model_info is not None and not self.model_info["trained"]:
            self.answer_view.append(f"<p style='color:#c04040'>{model_notice(False)}.</p>")
        if selected is not None:
            self.answer_view.scrollToAnchor(f"q{selected.qid}")

    def _on_link(self, url: QtCore.QUrl) -> None:
        if url.scheme() == COPY_SCHEME:
            self.copy_answer(int(url.path()))

    def copy_answer(self, qid: int) -> str:
        """Put question ``qid``'s answer, as the model wrote it, on the clipboard; returns it."""
        entry = next((e for e in self.entries if e.qid == qid), None)
        if entry is None:
            return ""
        text = entry.shown_text()
        QtWidgets.QApplication.clipboard().setText(text)
        self.status.setText(f"Answer {qid} copied.")
        return text

    def show_about(self):
        """The About this model dialog (returns it)."""
        from .about_dialog import AboutDialog

        dialog = AboutDialog(self.model_info, self.window())
        dialog.show()
        return dialog

    def shutdown(self) -> None:
        """Stop any answer and end the model's thread (before the window closes)."""
        self.stop()
        self.chat.shutdown()
