"""The chat panel: question box, the scan's transcript (streamed answers, notes, copy), stop
(an answer, or a slice-set model's encoding of the scan), quick actions, model facts.

The panel draws a :class:`~viewer.models.chat.ChatModel` (the chat's state, the transcript of
the scan in view, the selected question) and hands the reader's questions to it; the model
runs in the worker thread of a :class:`~viewer.chat.worker.ChatThread`.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets
from PySide6.QtCore import Signal

from inference.bundle import model_notice
from inference.question import Question, QuestionError

from ..models.chat import ChatModel, ChatState, ModelInfo
from ..models.transcript import Entry, Transcript
from .about_dialog import AboutDialog
from .answer_stream import AnswerStream
from .disease_box import fill_disease_box
from .transcript_html import COPY_SCHEME, transcript_html
from .worker import ChatThread

YES_NO_TIP = "Does this image show signs of the chosen disease?"
NOT_TRAINED_TIP = "This model was not trained for this question"


class ChatPanel(QtWidgets.QWidget):
    """Ask about the scan in view; shows the answer as it streams and keeps the history."""

    answerFinished = Signal(object)  # Entry
    relevanceFinished = Signal(object)  # Entry: its occlusion relevance came back, or will not
    stateChanged = Signal(str)  # a ChatState
    exportRequested = Signal()
    tableRequested = Signal()

    def __init__(self, model: ChatModel, chat: ChatThread, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat_panel")
        self.model = model
        self.chat = chat
        self._build()
        self._show_status()
        model.status_changed.connect(self._show_status)
        model.state_changed.connect(self._on_state)
        model.model_loaded.connect(self._show_model)
        model.transcript_switched.connect(self._show_transcript)
        model.selection_changed.connect(self._on_selection)
        model.region_changed.connect(self._on_region)
        model.entry_added.connect(lambda entry: self.history.addItem(entry.label()))
        model.piece_added.connect(self._on_piece)
        model.entry_changed.connect(lambda entry: self.history.item(self.entries.index(entry)).setText(entry.label()))
        model.answer_finished.connect(self.answerFinished.emit)
        model.relevance.finished.connect(self._on_relevance)
        model.relevance.availability_changed.connect(self._show_relevance_notice)

    # ------------------------------------------------------------ the model, read
    @property
    def state(self) -> ChatState:
        """Where the chat is."""
        return self.model.state

    @property
    def model_info(self) -> ModelInfo | None:
        """What the model is, once it has started."""
        return self.model.model_info

    @property
    def transcript(self) -> Transcript:
        """The transcript of the scan in view."""
        return self.model.transcript

    @property
    def entries(self) -> list[Entry]:
        """The questions asked about the scan in view."""
        return self.model.entries

    def selected(self) -> Entry | None:
        """The entry chosen in the history."""
        return self.model.selected

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
        self.relevance_label = QtWidgets.QLabel("")  # the bundle has no occlusion relevance: why, once
        self.relevance_label.setObjectName("relevance_notice")
        self.relevance_label.setWordWrap(True)
        self.relevance_label.hide()

        self.history = QtWidgets.QListWidget()
        self.history.setObjectName("chat_history")
        self.history.currentRowChanged.connect(self.model.select)
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
        self.stop_button.clicked.connect(self.model.stop)
        self.encode_button = QtWidgets.QPushButton("Encode this scan")  # after its encoding was stopped
        self.encode_button.setObjectName("encode_button")
        self.encode_button.setToolTip("Give the scan in view to the model again (its encoding was stopped)")
        self.encode_button.clicked.connect(self.model.encode_again)
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
        ask_row.addWidget(self.encode_button)
        quick = QtWidgets.QHBoxLayout()
        quick.addWidget(self.findings_button)
        quick.addWidget(self.disease_box, 1)
        quick.addWidget(self.yes_no_button)
        tools = QtWidgets.QHBoxLayout()
        for w in (self.copy_button, self.table_button, self.export_button, self.about_button):
            tools.addWidget(w)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for w in (self.banner, self.model_label, self.region_label, self.relevance_label, self.status):
            layout.addWidget(w)
        layout.addWidget(QtWidgets.QLabel("Questions (this scan; kept when another scan is opened):"))
        layout.addWidget(self.history, 1)
        layout.addWidget(self.answer_view, 3)
        layout.addLayout(ask_row)
        layout.addWidget(self.choices_box)
        layout.addLayout(quick)
        layout.addLayout(tools)
        self._update_buttons()


    # ------------------------------------------------------------ the model, drawn
    def _show_status(self) -> None:
        self.status.setText(self.model.status)
        self.status.setStyleSheet("color:#ff8080; font-weight:bold;" if self.model.status_is_error else "")

    def _on_state(self, state: ChatState) -> None:
        self._update_buttons()
        self.stateChanged.emit(state)

    def _update_buttons(self) -> None:
        can_ask = self.state == ChatState.READY
        # a model answers only the tasks it has prompts for (a published model: no yes/no)
        tasks = set(self.model_info["summary"].get("tasks", ())) if self.model_info else set()
        for w, task in ((self.ask_button, "open"), (self.findings_button, "report"), (self.yes_no_button, "yes_no")):
            allowed = not tasks or task in tasks
            w.setEnabled(can_ask and allowed)
            w.setToolTip((YES_NO_TIP if w is self.yes_no_button else "") if allowed else NOT_TRAINED_TIP)
        self.disease_box.setEnabled(not tasks or "yes_no" in tasks)
        stops_encoding = self.state == ChatState.ENCODING and self.model.encoding_can_stop
        self.stop_button.setEnabled(self.state == ChatState.ANSWERING or stops_encoding)
        self.stop_button.setToolTip("Stop encoding the scan (between slices); the model keeps what it had"
                                    if stops_encoding else "Stop the answer (what has streamed is kept)")
        self.encode_button.setVisible(self.state == ChatState.ENCODE_STOPPED)
        self.copy_button.setEnabled(self.selected() is not None and self.selected().answer is not None)

    def _show_model(self, info: ModelInfo) -> None:
        from inference.llm.prompt import ct_rate_diseases

        scope = info.get("scope")  # the yes/no diseases it was trained for come first
        fill_disease_box(self.disease_box, ct_rate_diseases(), scope.yes_no_diseases if scope else ())
        # always on: red for untrained weights, amber for the trained demonstration model
        self.banner.setText(model_notice(info["trained"], info["summary"].get("notice", "")))
        self.banner.setStyleSheet(f"background:{'#6a4a10' if info['trained'] else '#6a1d1d'}; color:#fff0d6;"
                                  " padding:4px; font-weight:bold;")
        self.banner.setVisible(True)
        if info["slice_attention"]:
            attention = ""
        elif info["slice_budget"]:
            attention = ("  ·  no slice attention: this model has no TG-IS, so no heat strip is drawn; the "
                         "slices it is sent are marked beside the axial scroller")
        else:
            attention = "  ·  no slice attention: this model has no TG-IS, so no heat strip is drawn"
        self.model_label.setText(
            f"Model: {info['name']}  ·  input: {info['input_words']}  ·  vision on {', '.join(info['providers'])}; "
            f"LLM llama.cpp on CPU, {info['threads']} thread(s)" + attention)

    def _show_transcript(self) -> None:
        """Another scan's transcript: its region notice and its questions (a selection follows)."""
        self._show_region()
        self.history.blockSignals(True)
        self.history.clear()
        self.history.addItems([e.label() for e in self.entries])
        self.history.blockSignals(False)

    def _show_region(self) -> None:
        notice = self.transcript.region_notice
        self.region_label.setText(f"⚠ {notice}")
        self.region_label.setVisible(bool(notice))

    def _on_region(self) -> None:
        self._show_region()
        self._render()

    def _show_relevance_notice(self) -> None:
        why = self.model.relevance.unavailable
        self.relevance_label.setText(f"No occlusion relevance with this model: {why}." if why else "")
        self.relevance_label.setVisible(bool(why))

    def _on_relevance(self, entry: Entry) -> None:
        if entry in self.entries:
            self._render()  # its occlusion line
        self.relevanceFinished.emit(entry)

    def _on_selection(self, _entry: Entry | None) -> None:
        if self.history.currentRow() != self.model.selected_row:
            self.history.blockSignals(True)
            self.history.setCurrentRow(self.model.selected_row)
            self.history.blockSignals(False)
        self._render()
        self._update_buttons()

    def _on_piece(self, entry: Entry) -> None:
        if self.selected() is entry:
            shown = entry.text.strip()
            if not self._stream.extend(shown):
                self._render()
                self._stream.anchor(shown)

    def _render(self) -> None:
        """Show the scan's transcript, the selected question highlighted and in view."""
        selected = self.selected()
        self._stream.forget()
        self.answer_view.setHtml(transcript_html(self.entries, selected, self.transcript.region_notice))
        if self.model_info is not None and not self.model_info["trained"]:
            self.answer_view.append(f"<p style='color:#c04040'>{model_notice(False)}.</p>")
        if selected is not None:
            self.answer_view.scrollToAnchor(f"q{selected.qid}")

    # ------------------------------------------------------------ the reader's requests
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
            separator = " (separate the options with ';')" if choices else ""
            self.model.set_status(f"{exc}{separator}.")
            return
        if self.ask(question) is not None:
            self.question_box.clear()
            self.choices_box.clear()

    def ask(self, question: Question | str, max_tokens: int | None = None) -> Entry | None:
        """Send a question (or an open question's text) to the model; returns its transcript
        entry (None when not ready)."""
        return self.model.ask(question, max_tokens)

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
        self.model.set_status(f"Answer {qid} copied.")
        return text

    def show_about(self) -> AboutDialog:
        """The About this model dialog (returns it)."""
        dialog = AboutDialog(self.model_info, self.window())
        dialog.show()
        return dialog

    def shutdown(self) -> None:
        """Stop any answer and end the model's thread (before the window closes)."""
        self.model.stop()
        self.model.relevance.cancel_waiting()  # not started: not worth waiting for
        self.chat.shutdown()
