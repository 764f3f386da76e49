"""Compare models: one question about the scan in view asked of two or more installed
models, their answers side by side (answer, notes, and the slice strips each has: TG-IS,
occlusion relevance, the slices a slice-set model was sent), and an Export that writes them
together (:func:`inference.chat.compare.write_comparison`: two CSVs and an HTML page).

The models are asked one at a time on the chat's worker thread (:mod:`viewer.chat.compare_run`),
the chat's own model closed meanwhile; the dialog says which model is being asked, and Cancel
stops between two models.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6 import QtCore, QtWidgets

from inference.bundle import model_notice
from inference.question import Question, QuestionError

from ..models.model_cards import model_cards
from ..views.value_strip import OCCLUSION, SENT, TGIS, ValueStrip
from .compare_run import CompareRequest, CompareResult
from .worker import ChatWorker, UiThreadCall

if TYPE_CHECKING:
    from inference.chat.compare import ModelAnswer
    from inference.io import Volume

COLUMN_WIDTH = 300


class CompareDialog(QtWidgets.QDialog):
    """Choose models, ask, read the answers side by side, export (see the module docstring).

    ``run(request)`` queues the comparison on the chat's thread (False: the chat is busy
    loading a model); ``worker`` says its progress and result."""

    def __init__(self, run: Callable[[CompareRequest], bool], worker: ChatWorker, volume: Volume | None,
                 scan_id: str, question: Question | None, max_tokens: int = 128, slices: int | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare_dialog")
        self.setWindowTitle("Compare models")
        self._run, self._volume, self._scan_id = run, volume, scan_id
        self._asked = question  # the chat's selected question, reused while its text is unchanged
        self._max_tokens, self._slices = max_tokens, slices
        self._request: CompareRequest | None = None
        self.result: CompareResult | None = None
        for signal, target in ((worker.compareProgress, self._on_progress), (worker.compareDone, self._on_done)):
            signal.connect(UiThreadCall(target, self).call)  # dropped with the dialog
        self._build(question)
        self.resize(1000, 640)

    def _build(self, question: Question | None) -> None:
        self.models = QtWidgets.QListWidget()
        self.models.setObjectName("compare_models")
        self.models.setMaximumHeight(110)
        for card in model_cards():
            if card.installed:
                item = QtWidgets.QListWidgetItem(card.label())
                item.setData(QtCore.Qt.ItemDataRole.UserRole, card.name)
                item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(QtCore.Qt.CheckState.Unchecked)
                self.models.addItem(item)
        self.models.itemChanged.connect(lambda _item: self._update_buttons())
        self.question_box = QtWidgets.QLineEdit(question.text if question is not None else "")
        self.question_box.setObjectName("compare_question")
        self.question_box.setPlaceholderText("The question every model is asked")
        self.relevance_box = QtWidgets.QCheckBox("Occlusion relevance for each answer (slower)")
        self.relevance_box.setChecked(True)
        self.compare_button = QtWidgets.QPushButton("Compare")
        self.compare_button.clicked.connect(self.start)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the model being asked (it finishes its answer)")
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QtWidgets.QPushButton("Export…")
        self.export_button.setToolTip("Write comparison.csv, comparison_slices.csv and comparison.html to a folder")
        self.export_button.clicked.connect(self._export_dialog)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("compare_progress")
        self.status = QtWidgets.QLabel("Tick two or more models, then Compare.")
        self.status.setObjectName("compare_status")
        self.status.setWordWrap(True)
        self.columns = QtWidgets.QHBoxLayout()
        self.columns.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft)
        holder = QtWidgets.QWidget()
        holder.setLayout(self.columns)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)

        ask_row = QtWidgets.QHBoxLayout()
        ask_row.addWidget(self.question_box, 1)
        for w in (self.compare_button, self.cancel_button, self.export_button):
            ask_row.addWidget(w)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("Models (installed; asked one at a time):"))
        layout.addWidget(self.models)
        layout.addLayout(ask_row)
        layout.addWidget(self.relevance_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(scroll, 1)
        self._update_buttons()

    # ------------------------------------------------------------ choosing and asking
    def chosen(self) -> list[str]:
        """The ticked models' names, in the list's order."""
        items = (self.models.item(row) for row in range(self.models.count()))
        return [i.data(QtCore.Qt.ItemDataRole.UserRole) for i in items
                if i.checkState() == QtCore.Qt.CheckState.Checked]

    def choose(self, names: list[str]) -> None:
        """Tick exactly the models ``names``."""
        for row in range(self.models.count()):
            item = self.models.item(row)
            wanted = item.data(QtCore.Qt.ItemDataRole.UserRole) in names
            item.setCheckState(QtCore.Qt.CheckState.Checked if wanted else QtCore.Qt.CheckState.Unchecked)

    def _question(self) -> Question:
        text = self.question_box.text().strip()
        if self._asked is not None and text == self._asked.text:
            return self._asked  # the chat's question as it was asked (its task and options too)
        return Question.typed(text, ())

    def start(self) -> bool:
        """Ask the ticked models; False, with the reason said, when it cannot start."""
        if self._volume is None:
            return self._say("Open a scan first: the models are asked about the scan in view.")
        if len(self.chosen()) < 2:
            return self._say("Tick two or more models to compare.")
        try:
            question = self._question()
        except QuestionError as exc:
            return self._say(f"{exc}.")
        request = CompareRequest(self.chosen(), self._volume, question, self._max_tokens,
                                 self.relevance_box.isChecked(), self._slices)
        if not self._run(request):
            return self._say("The chat is loading a model: compare once it is ready.")
        self._request, self.result = request, None
        self._clear_columns()
        self.progress.setRange(0, len(request.bundles))
        self.progress.setValue(0)
        self._say(f"Asking {len(request.bundles)} models, one at a time…")
        self._update_buttons()
        return True

    def cancel(self) -> None:
        """Stop after the model being asked."""
        if self._request is not None:
            self._request.cancel.set()
            self._say("Stopping after the model being asked…")

    def done(self, result: int) -> None:  # noqa: D401 - QDialog's close, also by Escape
        """Closing while the models are asked stops after the one being asked."""
        if self._request is not None:
            self._request.cancel.set()
        super().done(result)

    @property
    def running(self) -> bool:
        """True while the models are being asked."""
        return self._request is not None

    def _say(self, text: str) -> bool:
        self.status.setText(text)
        return False

    def _update_buttons(self) -> None:
        self.compare_button.setEnabled(not self.running and len(self.chosen()) >= 2)
        self.cancel_button.setEnabled(self.running)
        self.export_button.setEnabled(not self.running and bool(self.result and self.result.answers))

    # ------------------------------------------------------------ from the worker
    def _on_progress(self, k: int, n: int, name: str) -> None:
        if self._request is not None and not self._request.cancel.is_set():
            self.progress.setValue(k - 1)
            self._say(f"Asking model {k} of {n}: {name}…")

    def _on_done(self, result: CompareResult) -> None:
        if self._request is None:
            return
        self._request, self.result = None, result
        self.progress.setValue(len(result.answers))
        for answer in result.answers:
            self.columns.addWidget(self._column(answer))
        stopped = " (stopped: the models after these were not asked)" if result.cancelled else ""
        self._say(f"{len(result.answers)} answer(s){stopped}. Each answer is the model's own, from the scan alone.")
        self._update_buttons()

    # ------------------------------------------------------------ the answers
    def _clear_columns(self) -> None:
        while self.columns.count():
            widget = self.columns.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()

    def _column(self, result: ModelAnswer) -> QtWidgets.QWidget:
        """One model's answer: its name, notice, answer, notes and strips."""
        box = QtWidgets.QGroupBox(result.bundle)
        box.setObjectName("compare_column")
        box.setFixedWidth(COLUMN_WIDTH)
        layout = QtWidgets.QVBoxLayout(box)

        def text(words: str, style: str = "") -> None:
            label = QtWidgets.QLabel(words)
            label.setWordWrap(True)
            label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setStyleSheet(style)
            layout.addWidget(label)

        if result.error:
            text(result.error, "color:#ff8080;")
        else:
            s = result.summary
            text(model_notice(bool(s.get("trained")), s.get("notice", "")), "color:#e0b060; font-size:small;")
            text(f"A: {result.answer.text.strip() or '(no text)'}", "font-weight:bold;")
            for note in result.answer.notes:
                text(f"⚠ {note}", "color:#e0a040;")
            for method, values in self._strips(result):
                layout.addWidget(QtWidgets.QLabel(method))
                layout.addWidget(ValueStrip(method, values))
            if result.relevance_note:
                text(result.relevance_note, "color:#a0a0a0;")
        layout.addStretch(1)
        return box

    def _strips(self, result: ModelAnswer) -> list[tuple[str, list[float]]]:
        strips = []
        if result.answer is not None and result.answer.original_scores is not None:
            strips.append((TGIS, list(result.answer.original_scores)))
        if result.relevance is not None:
            strips.append((OCCLUSION, list(result.relevance.original)))
        if result.sent_slices and self._volume is not None:
            sent = [0.0] * self._volume.n_original
            for k in result.sent_slices:
                sent[k] = 1.0
            strips.append((SENT, sent))
        return strips

    # ------------------------------------------------------------ export
    def export(self, folder: str | Path) -> list[Path]:
        """Write the comparison to ``folder`` (two CSVs and an HTML page); returns their paths."""
        from inference.chat.compare import write_comparison

        if self.result is None or not self.result.answers:
            raise ValueError("there is no comparison to export yet: Compare first")
        paths = write_comparison(self.result.answers, folder, self._scan_id)
        self._say(f"Written to {Path(folder)}: {', '.join(p.name for p in paths)}.")
        return paths

    def _export_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Export the comparison to a folder")
        if folder:
            try:
                self.export(folder)
            except OSError as exc:
                self._say(f"The comparison could not be written: {exc}.")
