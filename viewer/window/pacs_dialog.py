"""File > Open from PACS…: pick a node, search its studies, retrieve one CT series into the local
cache and open it as any folder opens (:attr:`OpenFromPacsDialog.folderRetrieved`).

Searches and retrievals run on a thread (:class:`~viewer.window.pacs_worker.PacsTask`); a failure
is one sentence under the results and the window goes on. A cancelled or cut retrieval keeps the
images that arrived in the cache, and the next Retrieve fetches only the rest. Patient ID and
name are masked until "Show patient ID and name" is ticked (off each time the dialog opens).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt, Signal

from inference.pacs import Node, PacsError, Study, find_studies, load_nodes, retrieve_series

from ..models.pacs_search import (PasswordBook, SeriesRow, masked, refused_credentials, series_rows, shown_date,
                                  study_label, study_query)
from .pacs_nodes_dialog import NodesDialog, ask_password
from .pacs_worker import PacsTask

COLUMNS = ("Study / series", "Date", "Patient ID", "Patient name", "Modality", "Images", "Note")
ROW_ROLE = Qt.ItemDataRole.UserRole  # a series item's SeriesRow


class OpenFromPacsDialog(QtWidgets.QDialog):
    """Search a PACS node and retrieve a series. ``ask_password(parent, node)`` asks a node's
    password when it needs one (tests give their own)."""

    folderRetrieved = Signal(str)  # the cached series folder, whole
    priorRetrieved = Signal(str)  # the same, retrieved to be shown as the prior beside the scan
    searchFinished = Signal(str)  # "found" or "failed" (for tests and the status line)
    retrieveFinished = Signal(str)  # "retrieved" or "failed" (a cancel ends as failed, saying so)

    def __init__(self, passwords: PasswordBook, parent: QtWidgets.QWidget | None = None,
                 ask: Callable[[QtWidgets.QWidget | None, Node], str | None] = ask_password) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open from PACS")
        self.passwords = passwords
        self.ask_password = ask
        self.studies: list[Study] = []
        self.task: PacsTask | None = None
        self._old_tasks: list[PacsTask] = []  # cancelled ones finishing in the background

        self.node_box = QtWidgets.QComboBox(self)
        edit_nodes = QtWidgets.QPushButton("Edit nodes…", self)
        edit_nodes.clicked.connect(self.edit_nodes)
        self.patient_id = QtWidgets.QLineEdit(self)
        self.patient_name = QtWidgets.QLineEdit(self)
        self.patient_name.setPlaceholderText("wildcards allowed: DOE*")
        self.accession = QtWidgets.QLineEdit(self)
        self.use_dates = QtWidgets.QCheckBox("Study date from", self)
        self.date_from = QtWidgets.QDateEdit(QtCore.QDate.currentDate().addYears(-1), self)
        self.date_to = QtWidgets.QDateEdit(QtCore.QDate.currentDate(), self)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
            self.use_dates.toggled.connect(edit.setEnabled)
        self.modality = QtWidgets.QLineEdit("CT", self)
        self.search_button = QtWidgets.QPushButton("Search", self)
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.show_patient = QtWidgets.QCheckBox("Show patient ID and name", self)
        self.show_patient.toggled.connect(self._fill_tree)

        self.tree = QtWidgets.QTreeWidget(self)
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.itemSelectionChanged.connect(self._enable_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_: self.retrieve() if self.selected_row() else None)
        self.progress = QtWidgets.QProgressBar(self)
        self.progress.hide()
        self.retrieve_button = QtWidgets.QPushButton("Retrieve and open", self)
        self.retrieve_button.clicked.connect(self.retrieve)
        self.prior_button = QtWidgets.QPushButton("Retrieve as prior", self)
        self.prior_button.setToolTip("Open the series beside the scan in view, scrolling with it")
        self.prior_button.clicked.connect(lambda: self.retrieve(as_prior=True))
        self._as_prior = False  # the running retrieval opens the series as the prior
        self.cancel_button = QtWidgets.QPushButton("Cancel retrieval", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QtWidgets.QLabel("", self)
        self.status.setObjectName("pacs_status")
        self.status.setWordWrap(True)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("PACS node", self))
        top.addWidget(self.node_box, 1)
        top.addWidget(edit_nodes)
        form = QtWidgets.QGridLayout()
        form.addWidget(QtWidgets.QLabel("Patient ID", self), 0, 0)
        form.addWidget(self.patient_id, 0, 1)
        form.addWidget(QtWidgets.QLabel("Patient name", self), 0, 2)
        form.addWidget(self.patient_name, 0, 3)
        form.addWidget(QtWidgets.QLabel("Accession number", self), 1, 0)
        form.addWidget(self.accession, 1, 1)
        form.addWidget(QtWidgets.QLabel("Modality", self), 1, 2)
        form.addWidget(self.modality, 1, 3)
        dates = QtWidgets.QHBoxLayout()
        dates.addWidget(self.use_dates)
        dates.addWidget(self.date_from)
        dates.addWidget(QtWidgets.QLabel("to", self))
        dates.addWidget(self.date_to)
        dates.addStretch(1)
        form.addLayout(dates, 2, 0, 1, 3)
        form.addWidget(self.search_button, 2, 3)
        actions = QtWidgets.QHBoxLayout()
        actions.addWidget(self.show_patient)
        actions.addStretch(1)
        actions.addWidget(self.progress, 1)
        actions.addWidget(self.retrieve_button)
        actions.addWidget(self.prior_button)
        actions.addWidget(self.cancel_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(self.tree, 1)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addWidget(close)
        self.resize(980, 560)
        self.refresh_nodes()

    # ------------------------------------------------------------ nodes
    def refresh_nodes(self) -> None:
        """Fill the node list from the settings file (the selection kept when it is still there)."""
        keep = self.node_box.currentText()
        self.node_box.clear()
        try:
            names = sorted(load_nodes())
        except PacsError as exc:
            names = []
            self.status.setText(str(exc))
        self.node_box.addItems(names)
        if keep in names:
            self.node_box.setCurrentText(keep)
        if not names:
            self.status.setText("No PACS node yet: add one with Edit nodes….")
        self._enable_buttons()

    def edit_nodes(self) -> NodesDialog:
        """Open the node editor; the list follows its changes (returns it)."""
        dialog = NodesDialog(self)
        dialog.finished.connect(lambda _result: self.refresh_nodes())
        dialog.open()
        return dialog

    def current_node(self) -> Node | None:
        """The chosen node with its password (asked now when it needs one); None when there is no
        node or the reader cancelled the password (the status says which)."""
        name = self.node_box.currentText()
        if not name:
            self.status.setText("Choose a PACS node first (Edit nodes… adds one).")
            return None
        try:
            node = load_nodes()[name]
        except (PacsError, KeyError):
            self.status.setText(f"The node {name} is no longer in the settings file.")
            self.refresh_nodes()
            return None
        if self.passwords.needs_password(node):
            typed = self.ask_password(self, node)
            if typed is None:
                self.status.setText(f"No password given for {name}: nothing was asked of it.")
                return None
            self.passwords.remember(name, typed)
        return self.passwords.with_password(node)

    # ------------------------------------------------------------ search
    def search(self) -> PacsTask | None:
        """Search the chosen node with the form's filters (on a thread); None when nothing started."""
        if self.task is not None:
            return None
        try:
            query = study_query(self.patient_id.text(), self.patient_name.text(), self.accession.text(),
                                *self._dates(), self.modality.text())
        except PacsError as exc:
            self.status.setText(str(exc))
            return None
        node = self.current_node()
        if node is None:
            return None
        self.status.setText(f"Searching {node.name}…")
        return self._start(PacsTask(lambda _p, _c: find_studies(node, query), "Searching the PACS", self),
                           node, self._on_found, self.searchFinished)

    def _dates(self) -> tuple[str, str]:
        if not self.use_dates.isChecked():
            return "", ""
        return self.date_from.date().toString("yyyyMMdd"), self.date_to.date().toString("yyyyMMdd")

    def _on_found(self, studies: list[Study]) -> None:
        self.studies = list(studies)
        self._fill_tree()
        n_series = sum(len(s.series) for s in self.studies)
        self.status.setText(f"{len(self.studies)} stud{'y' if len(self.studies) == 1 else 'ies'} found "
                            f"({n_series} series)." if self.studies else "No study matches these filters.")
        self.searchFinished.emit("found")

    def _fill_tree(self) -> None:
        """Show :attr:`studies` (patient fields masked unless the reader asked to see them)."""
        show = self.show_patient.isChecked()
        self.tree.clear()
        grey = self.palette().color(QtGui.QPalette.ColorGroup.Disabled, QtGui.QPalette.ColorRole.Text)
        for study in self.studies:
            top = QtWidgets.QTreeWidgetItem(self.tree, [
                study_label(study), shown_date(study.study_date), masked(study.patient_id, show),
                masked(study.patient_name, show), "/".join(study.modalities), "", ""])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for row in series_rows(study):
                item = QtWidgets.QTreeWidgetItem(top, [row.label, "", "", "", row.modality, row.images, row.why_not])
                item.setData(0, ROW_ROLE, row)
                if not row.openable:
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # listed, not selectable
                    for col in range(len(COLUMNS)):
                        item.setForeground(col, grey)
                    item.setToolTip(len(COLUMNS) - 1, row.why_not)
        self.tree.expandAll()
        for col in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(col)
        first = next((self.items_of(r) for r in self.rows() if r.openable), None)
        if first is not None:
            self.tree.setCurrentItem(first)
        self._enable_buttons()

    def rows(self) -> list[SeriesRow]:
        """Every series row shown, in order."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            out += [top.child(j).data(0, ROW_ROLE) for j in range(top.childCount())]
        return out

    def items_of(self, row: SeriesRow) -> QtWidgets.QTreeWidgetItem | None:
        """The tree item of a series row."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, ROW_ROLE) == row:
                    return top.child(j)
        return None

    def selected_row(self) -> SeriesRow | None:
        """The selected series, when it can be opened."""
        chosen = self.tree.selectedItems()
        row = chosen[0].data(0, ROW_ROLE) if chosen else None
        return row if row is not None and row.openable else None

    # ------------------------------------------------------------ retrieve
    def retrieve(self, as_prior: bool = False) -> PacsTask | None:
        """Retrieve the selected series into the cache (on a thread), then open it (``as_prior``:
        beside the scan in view, as its prior); None when nothing started."""
        row = self.selected_row()
        if self.task is not None or row is None:
            return None
        self._as_prior = as_prior
        node = self.current_node()
        if node is None:
            return None
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText(f"Retrieving {row.label} from {node.name}…")
        task = PacsTask(lambda progress, cancel: retrieve_series(node, row.study_uid, row.series_uid, progress, cancel),
                        "Retrieving the series", self)
        task.progress.connect(self._on_progress)
        return self._start(task, node, self._on_retrieved, self.retrieveFinished)

    def cancel(self) -> None:
        """Stop the retrieval: the images that arrived stay in the cache."""
        if self.task is not None:
            self.task.cancel()
            self.status.setText("Cancelling: the images already here are kept…")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total} images")

    def _on_retrieved(self, folder: Path) -> None:
        self.progress.hide()
        self.status.setText(f"Retrieved into {folder}; opening it.")
        self.retrieveFinished.emit("retrieved")
        (self.priorRetrieved if self._as_prior else self.folderRetrieved).emit(str(folder))
        self.accept()

    # ------------------------------------------------------------ tasks
    def _start(self, task: PacsTask, node: Node, on_done: Callable, finished: Signal) -> PacsTask:
        """Run ``task``; its failure is one sentence in the status (a refused password is forgotten)."""
        self.task = task
        # its result ends it for the dialog (a new search may start); the thread ends a moment later
        task.done.connect(lambda _result, t=task: self._release(t))
        task.failed.connect(lambda _sentence, t=task: self._release(t))
        task.done.connect(on_done)
        task.failed.connect(lambda sentence: self._on_failed(node, sentence, finished))
        task.finished.connect(lambda t=task: self._task_over(t))
        self._enable_buttons()
        task.start()
        return task

    def _on_failed(self, node: Node, sentence: str, finished: Signal) -> None:
        if refused_credentials(sentence):
            self.passwords.forget(node.name)
        self.progress.hide()
        self.status.setText(sentence[:1].upper() + sentence[1:] + ("" if sentence.endswith(".") else "."))
        finished.emit("failed")

    def _release(self, task: PacsTask) -> None:
        """The task said its result: the dialog is free again (the thread is waited for at shutdown)."""
        if self.task is task:
            self.task = None
            self._old_tasks.append(task)
        self._enable_buttons()

    def _task_over(self, task: PacsTask) -> None:
        if self.task is task:
            self.task = None
        if task in self._old_tasks:
            self._old_tasks.remove(task)
        self._enable_buttons()

    def _enable_buttons(self) -> None:
        busy = self.task is not None
        self.search_button.setEnabled(not busy and self.node_box.count() > 0)
        self.retrieve_button.setEnabled(not busy and self.selected_row() is not None)
        self.prior_button.setEnabled(not busy and self.selected_row() is not None)
        self.cancel_button.setEnabled(busy)

    def shutdown(self, wait_ms: int = 10000) -> None:
        """Cancel the running task and wait for it (before the window closes)."""
        for task in [self.task, *self._old_tasks]:
            if task is not None:
                task.cancel()
                task.wait(wait_ms)

    def reject(self) -> None:  # noqa: D102 - closing cancels a retrieval (what arrived is kept)
        if self.task is not None:
            self.task.cancel()
            self._old_tasks.append(self.task)
        super().reject()
