"""The Models dialog (File > Models…): the installed bundles (the built-in default and what
``ctchat pull`` installed), each with its card, and the catalogue's models not installed yet
with what pulling them costs (:mod:`viewer.models.model_cards`).

Use switches the chat to a bundle without closing the scan; Remove deletes an installed
bundle (after asking); Verify hashes every file of one; Pull shows the plan (size, disk,
terms), asks, then downloads and installs it on a thread of its own with a progress bar and
Cancel. A failure or a Cancel is one sentence, and nothing half-installed is left (the
download stays, for the next pull to resume).
"""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any, Callable

from PySide6 import QtCore, QtWidgets

from inference.models.catalogue import human_bytes

from ..models.model_cards import ModelCard, model_cards
from .background_task import BackgroundTask

if TYPE_CHECKING:
    from ..chat.component import ChatComponent


def pull_plan_lines(name: str) -> list[str]:
    """What pulling ``name`` will download, need on disk and agree to (the Hub is asked for the
    file list: seconds)."""
    from inference.models.plan import make_plan
    from inference.models.pull import free_bytes
    from inference.models.store import models_dir

    return make_plan(name, None, None).summary(free_bytes(models_dir()))


class ModelsDialog(QtWidgets.QDialog):
    """The models, their cards and what can be done with them (see the module docstring);
    ``chat`` is None when the viewer runs without the chat (Use is then unavailable)."""

    def __init__(self, chat: ChatComponent | None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("models_dialog")
        self.setWindowTitle("Models")
        self.chat = chat
        self.cards: list[ModelCard] = []
        self.task: BackgroundTask | None = None  # the pull, plan or verification running
        self._cancel = threading.Event()
        self._build()
        self.refresh()
        self.resize(900, 560)

    def _build(self) -> None:
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("models_list")
        self.list.currentRowChanged.connect(self._show_card)
        self.card = QtWidgets.QTextBrowser()
        self.card.setObjectName("model_card")
        self.use_button = QtWidgets.QPushButton("Use")
        self.use_button.setToolTip("Switch the chat to this model; the scan stays open and is encoded again")
        self.use_button.clicked.connect(self.use)
        self.remove_button = QtWidgets.QPushButton("Remove…")
        self.remove_button.clicked.connect(self.remove)
        self.verify_button = QtWidgets.QPushButton("Verify")
        self.verify_button.setToolTip("Check every file of the bundle against its manifest's hashes")
        self.verify_button.clicked.connect(self.verify)
        self.pull_button = QtWidgets.QPushButton("Pull…")
        self.pull_button.setToolTip("Download and install this model (its size and terms are shown first)")
        self.pull_button.clicked.connect(self.pull)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the download; what came stays, and the next pull resumes from it")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("pull_progress")
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("models_status")
        self.status.setWordWrap(True)

        split = QtWidgets.QSplitter()
        split.addWidget(self.list)
        split.addWidget(self.card)
        split.setSizes([280, 620])
        buttons = QtWidgets.QHBoxLayout()
        for w in (self.use_button, self.remove_button, self.verify_button, self.pull_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        pulling = QtWidgets.QHBoxLayout()
        pulling.addWidget(self.progress, 1)
        pulling.addWidget(self.cancel_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        layout.addLayout(pulling)
        layout.addWidget(self.status)

    # ------------------------------------------------------------ the list
    def refresh(self) -> None:
        """List the models again (after a pull or a removal), keeping the selection by name."""
        keep = self.selected_card().name if self.selected_card() else None
        self.cards = model_cards()
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItems([c.label() for c in self.cards])
        self.list.blockSignals(False)
        names = [c.name for c in self.cards]
        self.list.setCurrentRow(names.index(keep) if keep in names else 0)
        self._show_card()

    def names(self, installed: bool | None = None) -> list[str]:
        """The models listed (only the installed ones, or only the others, when asked)."""
        return [c.name for c in self.cards if installed is None or c.installed == installed]

    def select(self, name: str) -> None:
        """Select the model ``name`` in the list."""
        self.list.setCurrentRow(self.names().index(name))

    def selected_card(self) -> ModelCard | None:
        """The model selected in the list."""
        row = self.list.currentRow()
        return self.cards[row] if 0 <= row < len(self.cards) else None

    def _show_card(self, _row: int = -1) -> None:
        card = self.selected_card()
        rows = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                       for k, v in (card.lines if card else ()))
        self.card.setHtml(f"<table cellspacing='4'>{rows}</table>")
        self._update_buttons()

    def _update_buttons(self) -> None:
        card, busy = self.selected_card(), self.task is not None
        installed = card is not None and card.installed
        self.use_button.setEnabled(installed and self.chat is not None and not busy)
        self.use_button.setToolTip("" if self.chat is not None else "The viewer runs without the chat (--no-chat)")
        self.remove_button.setEnabled(installed and not card.builtin and not busy)
        self.verify_button.setEnabled(installed and not busy)
        self.pull_button.setEnabled(card is not None and not card.installed and not busy)
        self.cancel_button.setEnabled(busy and self.pull_button.text() == "Pulling…")
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)

    def say(self, text: str, error: bool = False) -> None:
        """One sentence on the status line."""
        self.status.setText(text)
        self.status.setStyleSheet("color:#ff8080; font-weight:bold;" if error else "")

    def confirm(self, title: str, text: str) -> bool:
        """Ask yes or no (the tests answer it by replacing QMessageBox.question)."""
        answer = QtWidgets.QMessageBox.question(self, title, text)
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------ actions
    def use(self) -> bool:
        """Switch the chat to the selected installed model."""
        card = self.selected_card()
        if card is None or not card.installed or self.chat is None:
            return False
        if not self.chat.use_bundle(card.name):
            self.say("The chat is loading a model: use another once it is ready.", error=True)
            return False
        self.say(f"Switching the chat to {card.name}; the scan stays open and is encoded again.")
        return True

    def remove(self) -> bool:
        """Delete the selected installed bundle, after asking."""
        from inference.models.store import remove

        card = self.selected_card()
        if card is None or not card.installed or card.builtin:
            return False
        if self.chat is not None and self.chat.thread.worker.bundle_name == card.name:
            self.say(f"{card.name} is the chat's model: Use another model before removing it.", error=True)
            return False
        if not self.confirm("Remove model", f"Delete {card.name} and its files from this computer?"):
            return False
        try:
            path = remove(card.name)
        except Exception as exc:  # noqa: BLE001 - PullError, a file in use: one sentence
            self.say(f"{card.name} could not be removed: {exc}", error=True)
            return False
        self.refresh()
        self.say(f"{card.name} was removed ({path}).")
        return True

    def verify(self) -> None:
        """Hash every file of the selected installed bundle (on a thread: seconds to minutes)."""
        from inference.models.store import verify

        card = self.selected_card()
        if card is None or not card.installed:
            return
        self.say(f"Verifying {card.name}…")
        self._start(lambda report: verify(card.name), lambda _bundle: self.say(
            f"{card.name}: every file matches its manifest."), f"{card.name} did not verify: ")

    def pull(self) -> None:
        """Show the selected catalogue model's plan and, once agreed, pull it."""
        card = self.selected_card()
        if card is None or card.installed:
            return
        self.say(f"Asking the Hub what {card.name} needs…")
        self._start(lambda report: pull_plan_lines(card.name), lambda lines: self._confirm_pull(card.name, lines),
                    f"{card.name} cannot be pulled: ")

    def _confirm_pull(self, name: str, lines: list[str]) -> None:
        if not self.confirm("Pull model", "\n".join(lines) + f"\n\nDownload and install {name} under these terms?"):
            self.say("Nothing was downloaded.")
            return
        from inference.models.pull import pull

        self._cancel = threading.Event()
        cancel = self._cancel
        self.pull_button.setText("Pulling…")
        self.say(f"Pulling {name}…")
        self._start(lambda report: pull(name, accept=True, progress=report, cancel=cancel),
                    lambda path: self._pulled(name, path), f"{name} was not installed: ", self._on_progress)

    def _on_progress(self, file: str, done: int, total: int | None) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(round(1000 * done / total) if total else 0)
        size = human_bytes(total) if total else "size not listed"
        self.say(f"Downloading {file}: {human_bytes(done)} of {size} (then converted and checked)…")

    def _pulled(self, name: str, path: Any) -> None:
        self.refresh()
        self.select(name)
        self.say(f"{name} is installed in {path}: Use switches the chat to it.")

    def cancel(self) -> None:
        """Stop the pull after the chunk being written (nothing is installed)."""
        self._cancel.set()
        self.say("Stopping the pull…")

    def _start(self, work: Callable, done: Callable[[Any], None], failed_words: str,
               progress: Callable[[str, int, int | None], None] | None = None) -> None:
        self.task = BackgroundTask(work, self)
        if progress is not None:
            self.task.progress.connect(progress)
        self.task.done.connect(lambda result: (self._finish(), done(result)))
        self.task.failed.connect(lambda message: (self._finish(), self.say(failed_words + message, error=True)))
        self.progress.setRange(0, 0)  # busy until bytes are counted
        self.task.start()
        self._update_buttons()

    def _finish(self) -> None:
        if self.task is not None:
            self.task.wait()
            self.task = None
        self.pull_button.setText("Pull…")
        self._update_buttons()

    def done(self, result: int) -> None:  # noqa: D401 - QDialog's close, also by Escape
        """Closing while a pull runs stops it first (a QThread must not outlive its dialog)."""
        if self.task is not None:
            self._cancel.set()
            self.task.wait()
        super().done(result)


def open_models_dialog(window: QtWidgets.QWidget, chat: ChatComponent | None) -> ModelsDialog:
    """File > Models…: the dialog, shown (returns it)."""
    dialog = ModelsDialog(chat, window)
    dialog.show()
    return dialog
