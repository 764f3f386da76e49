"""Edit nodes…: the PACS nodes of the settings file, added and removed from the viewer (as
``ctchat pacs node add|remove`` does), and the password prompt of a node that logs in.

The settings file never holds a password (:func:`inference.pacs.nodes.save_node` is given none);
the password is asked when a node is used and kept in memory
(:class:`viewer.models.pacs_search.PasswordBook`) until the viewer closes.
"""

from __future__ import annotations

from PySide6 import QtWidgets
from PySide6.QtCore import Qt

from inference.pacs import Node, PacsError, load_nodes
from inference.pacs.nodes import DEFAULT_OUR_AET, PASSWORD_ENV, remove_node, save_node, settings_path

KINDS = ("DICOMweb", "DIMSE")


def ask_password(parent: QtWidgets.QWidget | None, node: Node) -> str | None:
    """Ask the password (or token) of ``node``; None when the reader cancels."""
    what = "bearer token" if node.auth == "bearer" else f"password of {node.user}"
    text, ok = QtWidgets.QInputDialog.getText(
        parent, f"Log in to {node.name}",
        f"The {what} at {node.where}\n(kept in memory until the viewer closes; never written to disk):",
        QtWidgets.QLineEdit.EchoMode.Password)
    return text if ok else None


def node_line(node: Node) -> str:
    """One line of the node list (no password, ever)."""
    user = f" as {node.user}" if node.user else ""
    return f"{node.name}: {KINDS[node.kind == 'dimse']} {node.where}{user}"


class NodesDialog(QtWidgets.QDialog):
    """The nodes of the settings file: the list, Remove, and a form that adds (or replaces) one."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS nodes")
        self.node_list = QtWidgets.QListWidget(self)
        self.remove_button = QtWidgets.QPushButton("Remove", self)
        self.remove_button.clicked.connect(self.remove_selected)
        self.name = QtWidgets.QLineEdit(self)
        self.kind = QtWidgets.QComboBox(self)
        self.kind.addItems(KINDS)
        self.url = QtWidgets.QLineEdit(self)
        self.url.setPlaceholderText("https://pacs.example/dicom-web")
        self.host = QtWidgets.QLineEdit(self)
        self.port = QtWidgets.QSpinBox(self)
        self.port.setRange(1, 65535)
        self.port.setValue(104)
        self.aet = QtWidgets.QLineEdit(self)
        self.our_aet = QtWidgets.QLineEdit(DEFAULT_OUR_AET, self)
        self.user = QtWidgets.QLineEdit(self)
        self.bearer = QtWidgets.QCheckBox("The password is a bearer token", self)
        self.add_button = QtWidgets.QPushButton("Add or replace", self)
        self.add_button.clicked.connect(self.add_from_form)
        self.message = QtWidgets.QLabel("", self)
        self.message.setWordWrap(True)
        self.message.setObjectName("nodes_message")
        self.kind.currentIndexChanged.connect(self._show_kind)

        form = QtWidgets.QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Protocol", self.kind)
        form.addRow("DICOMweb URL", self.url)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("PACS AE title", self.aet)
        form.addRow("Our AE title", self.our_aet)
        form.addRow("User", self.user)
        form.addRow("", self.bearer)
        self.form = form
        box = QtWidgets.QGroupBox("Add a node", self)
        inner = QtWidgets.QVBoxLayout(box)
        inner.addLayout(form)
        inner.addWidget(QtWidgets.QLabel(f"No password is written: it is asked when the node is used "
                                         f"(or read from {PASSWORD_ENV}).", box))
        inner.addWidget(self.add_button)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel(f"Nodes in {settings_path()}:", self))
        layout.addWidget(self.node_list)
        layout.addWidget(self.remove_button)
        layout.addWidget(box)
        layout.addWidget(self.message)
        layout.addWidget(close)
        self._show_kind()
        self.refresh()

    def refresh(self) -> None:
        """List the settings file's nodes again."""
        self.node_list.clear()
        try:
            nodes = load_nodes()
        except PacsError as exc:
            self.message.setText(str(exc))
            nodes = {}
        for name, node in sorted(nodes.items()):
            item = QtWidgets.QListWidgetItem(node_line(node))
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.node_list.addItem(item)
        self.remove_button.setEnabled(bool(nodes))

    def form_node(self) -> Node:
        """The node the form describes (no password)."""
        name = self.name.text().strip()
        if not name:
            raise PacsError("give the node a name")
        dicomweb = self.kind.currentIndex() == 0
        return Node(name=name, dicomweb_url=self.url.text().strip() if dicomweb else "",
                    host="" if dicomweb else self.host.text().strip(), port=self.port.value(),
                    aet="" if dicomweb else self.aet.text().strip(),
                    our_aet=self.our_aet.text().strip() or DEFAULT_OUR_AET, user=self.user.text().strip(),
                    auth="bearer" if self.bearer.isChecked() else "basic")

    def add_from_form(self) -> bool:
        """Save the form's node in the settings file; False (and one sentence) when it is incomplete."""
        try:
            node = self.form_node()
            path = save_node(node)
        except (PacsError, OSError) as exc:
            self.message.setText(str(exc))
            return False
        self.message.setText(f"Saved {node.name} in {path}.")
        self.refresh()
        return True

    def remove_selected(self) -> None:
        """Take the selected node out of the settings file."""
        item = self.node_list.currentItem()
        if item is None:
            self.message.setText("Select the node to remove.")
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        try:
            remove_node(name)
        except (PacsError, OSError) as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"Removed {name}.")
        self.refresh()

    def _show_kind(self) -> None:
        """Only the fields of the chosen protocol are shown."""
        dicomweb = self.kind.currentIndex() == 0
        for widget, show in ((self.url, dicomweb), (self.host, not dicomweb), (self.port, not dicomweb),
                             (self.aet, not dicomweb), (self.our_aet, not dicomweb)):
            self.form.setRowVisible(widget, show)
