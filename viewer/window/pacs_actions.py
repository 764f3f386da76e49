"""The PACS part of the main window: File > Open from PACS…, Save as DICOM (SR + KOS)… and Send to
PACS…, and the passwords typed this session (memory only).

Save as DICOM writes the scan in view's answers (the chat's transcript for the model in use) and
its axial measurements as a Comprehensive SR with :func:`inference.pacs.write_answer_sr`, plus a
Key Object Selection of the answers' peak slices when there are any, referring to the scan's own
DICOM files (read again for their UIDs). A NIfTI has no UIDs: the action says so. Send to PACS
sends what Save wrote for this scan (it writes them first to the data folder when nothing was
saved). Each outcome is one sentence on the window's message bar.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Signal

from inference.pacs import PacsError, load_nodes, send_files, write_answer_sr
from inference.resources import data_dir

from ..models.pacs_answers import (NO_DICOM, answer_dicts, bundle_summary, has_peak_slices, source_series,
                                   sr_measurements)
from ..models.pacs_search import PasswordBook, refused_credentials
from ..models.reading import LoadedScan
from .message_bar import MessageBar
from .pacs_dialog import OpenFromPacsDialog
from .pacs_nodes_dialog import ask_password
from .pacs_worker import PacsTask

if TYPE_CHECKING:
    from ..chat.component import ChatComponent
    from .measurement_list import MeasurementList


class PacsWindow(Protocol):
    """What the PACS actions take from the main window."""

    message_bar: MessageBar
    measurements: MeasurementList
    chat: ChatComponent | None

    @property
    def scan(self) -> LoadedScan | None:
        """The scan in view."""

    def open_path(self, path: str | Path, series_uid: str | None = None) -> Any:
        """Open a scan the usual way (the series picker when a folder holds several)."""

    def open_prior(self, path: str | Path) -> None:
        """Open a scan as the prior beside the one in view."""


@dataclass
class Written:
    """The DICOM files Save wrote, and the scan they speak of."""

    scan_path: str
    files: list[Path] = field(default_factory=list)


class PacsActions(QtCore.QObject):
    """The three actions and what they share (the passwords, the dialog, the last files written).
    :attr:`finished` says how each Save or Send ended: ``"saved"``, ``"sent"`` or ``"failed"``."""

    finished = Signal(str)

    def __init__(self, window: PacsWindow) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the window is a QMainWindow
        self.window = window
        self.passwords = PasswordBook()
        self.ask_password = ask_password  # tests give their own
        self.dialog: OpenFromPacsDialog | None = None
        self.written: Written | None = None
        self.task: PacsTask | None = None
        self._ending: list[PacsTask] = []  # tasks that gave their result, their thread ending
        self.open_action = QtGui.QAction("Open from &PACS…", window)  # type: ignore[arg-type]
        self.open_action.triggered.connect(self.show_open_dialog)
        self.save_action = QtGui.QAction("Save answers as &DICOM (SR + KOS)…", window)  # type: ignore[arg-type]
        self.save_action.setToolTip("The chat's answers and the axial measurements as a DICOM Structured Report, "
                                    "and the peak slices as Key Objects (a scan opened from DICOM only)")
        self.save_action.triggered.connect(self._save_dialog)
        self.send_action = QtGui.QAction("Send answers to P&ACS…", window)  # type: ignore[arg-type]
        self.send_action.triggered.connect(self._send_dialog)

    @property
    def actions(self) -> list[QtGui.QAction]:
        """For the File menu, in order."""
        return [self.open_action, self.save_action, self.send_action]

    # ------------------------------------------------------------ open
    def show_open_dialog(self) -> OpenFromPacsDialog:
        """The Open from PACS dialog (one per window, the patient fields masked again each time)."""
        if self.dialog is None:
            self.dialog = OpenFromPacsDialog(self.passwords, self.window,  # type: ignore[arg-type]
                                             lambda parent, node: self.ask_password(parent, node))
            self.dialog.folderRetrieved.connect(lambda folder: self.window.open_path(folder))
            self.dialog.priorRetrieved.connect(lambda folder: self.window.open_prior(folder))
        self.dialog.show_patient.setChecked(False)
        self.dialog.refresh_nodes()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    # ------------------------------------------------------------ save
    def save_dicom(self, path: str | Path) -> PacsTask | None:
        """Write the scan in view's SR to ``path`` (and its KOS beside it, ``*_kos.dcm``) on a thread;
        None (and one sentence) when there is nothing to write or the scan is not DICOM."""
        job = self._save_job(Path(path))
        if job is None:
            return None
        return self._run(job, "Saving the answers as DICOM", self._on_saved)

    def _save_job(self, path: Path):  # noqa: ANN202 - the work of a PacsTask, or None
        scan = self.window.scan
        if self.task is not None:
            self._say("info", "A DICOM save or send is running: wait for it to end.")
            return None
        if scan is None:
            self._say("error", "Open a scan first: there is nothing to save.")
            return None
        metadata = dict(scan.volume.metadata)
        if metadata.get("format") != "DICOM":
            sentence = NO_DICOM.format(format=metadata.get("format") or "not DICOM")
            self._say("error", sentence[:1].upper() + sentence[1:] + ".")
            return None
        chat = self.window.chat
        answers = answer_dicts(chat.model.entries) if chat is not None else []
        summary = bundle_summary(chat.model.model_info if chat is not None else None)
        viewer_items = self.window.measurements.sr_items()
        if not answers and not viewer_items:
            self._say("error", "Nothing to save: ask the chat a question or draw a measurement first.")
            return None
        kos = path.with_name(path.stem + "_kos.dcm") if has_peak_slices(answers) else None
        scan_path = scan.path

        def work(_progress, _cancel) -> tuple[Written, str]:
            source = source_series(scan_path, metadata)
            measured = sr_measurements(viewer_items, source)
            if not answers and not measured.items:
                raise PacsError("nothing to save: no answers, and no measurement lies on an axial slice")
            write_answer_sr(source, answers, summary, path, measured.items, kos_path=kos)
            files = [path] + ([kos] if kos is not None else [])
            words = (f"Wrote the SR ({len(answers)} answer{'s' if len(answers) != 1 else ''}, "
                     f"{len(measured.items)} measurement{'s' if len(measured.items) != 1 else ''}) to {path}"
                     + (f" and the peak slices' KOS to {kos}" if kos else "")
                     + (f"; {measured.left_out_words()}" if measured.left_out else "") + ".")
            return Written(scan_path, files), words

        return work

    def _on_saved(self, result: tuple[Written, str]) -> None:
        self.written, words = result
        self._say("info", words)
        self.finished.emit("saved")

    def _save_dialog(self) -> None:
        if self.window.scan is None or self.window.scan.volume.metadata.get("format") != "DICOM":
            self.save_dicom("unused.dcm")  # says why in one sentence
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save answers as DICOM",  # type: ignore[arg-type]
                                                        "ctchat_answers_sr.dcm", "DICOM (*.dcm)")
        if path:
            self.save_dicom(path)

    # ------------------------------------------------------------ send
    def send(self, node_name: str) -> PacsTask | None:
        """Send the SR (and KOS) saved for the scan in view to ``node_name``; written first, into
        the data folder, when they were not saved. None when nothing started (one sentence says why)."""
        if self.task is not None:
            self._say("info", "A DICOM save or send is running: wait for it to end.")
            return None
        try:
            node = load_nodes().get(node_name)
        except PacsError as exc:
            self._say("error", f"{exc}.")
            return None
        if node is None:
            self._say("error", f"No PACS node named {node_name}: add one in Open from PACS > Edit nodes….")
            return None
        if self.passwords.needs_password(node):
            typed = self.ask_password(self.window, node)
            if typed is None:
                self._say("info", f"No password given for {node_name}: nothing was sent.")
                return None
            self.passwords.remember(node_name, typed)
        node = self.passwords.with_password(node)
        scan = self.window.scan
        saved = self.written if self.written is not None and scan is not None \
            and self.written.scan_path == scan.path else None
        if saved is not None:
            files = saved.files
            return self._run(lambda _p, _c: (None, self._send_files(node, files)), "Sending to the PACS",
                             self._on_sent, node.name)
        outbox = Path(tempfile.mkdtemp(prefix="sr-", dir=self._outbox()))
        job = self._save_job(outbox / "ctchat_answers_sr.dcm")
        if job is None:
            return None

        def save_then_send(progress, cancel) -> tuple[Written, str]:  # noqa: ANN001
            written, _words = job(progress, cancel)
            return written, self._send_files(node, written.files)

        return self._run(save_then_send, "Sending to the PACS", self._on_sent, node.name)

    @staticmethod
    def _send_files(node, files: list[Path]) -> str:  # noqa: ANN001 - a Node
        n = send_files(node, files)
        what = "the SR and the KOS" if n == 2 else "the SR"
        return f"Sent {what} ({n} file{'s' if n != 1 else ''}) to {node.name} ({node.where})."

    def _on_sent(self, result: tuple[Written | None, str]) -> None:
        written, words = result
        if written is not None:  # written for the send: a second send sends the same files
            self.written = written
        self._say("info", words)
        self.finished.emit("sent")

    def _send_dialog(self) -> None:
        try:
            names = sorted(load_nodes())
        except PacsError as exc:
            self._say("error", f"{exc}.")
            return
        if not names:
            self._say("error", "No PACS node yet: add one in File > Open from PACS… > Edit nodes….")
            return
        name, ok = QtWidgets.QInputDialog.getItem(self.window, "Send to PACS",  # type: ignore[arg-type]
                                                  "Send the answers (SR and KOS) to:", names, 0, False)
        if ok and name:
            self.send(name)

    @staticmethod
    def _outbox() -> Path:
        """Where Send writes an SR that was not saved (kept: the PACS may want it again)."""
        folder = data_dir() / "pacs" / "outbox"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # ------------------------------------------------------------ tasks
    def _run(self, work, doing: str, on_done, node_name: str = "") -> PacsTask:  # noqa: ANN001
        task = PacsTask(work, doing, self)
        self.task = task
        task.done.connect(lambda _result: self._release(task))  # first: a send may follow at once
        task.failed.connect(lambda _sentence: self._release(task))
        task.done.connect(on_done)
        task.failed.connect(lambda sentence: self._on_failed(sentence, node_name))
        task.finished.connect(lambda: self._ending.remove(task) if task in self._ending else None)
        task.start()
        return task

    def _release(self, task: PacsTask) -> None:
        if self.task is task:
            self.task = None
            self._ending.append(task)  # waited for at shutdown

    def _on_failed(self, sentence: str, node_name: str) -> None:
        if node_name and refused_credentials(sentence):
            self.passwords.forget(node_name)
        self._say("error", sentence[:1].upper() + sentence[1:] + ("" if sentence.endswith(".") else "."))
        self.finished.emit("failed")

    def _say(self, kind: str, sentence: str) -> None:
        self.window.message_bar.show_message(kind, sentence)

    def shutdown(self, wait_ms: int = 10000) -> None:
        """Stop the dialog's retrieval and wait for the running tasks (before the window closes)."""
        if self.dialog is not None:
            self.dialog.shutdown(wait_ms)
        for task in [self.task, *self._ending]:
            if task is not None:
                task.wait(wait_ms)
