"""An in-window bar for the loader's warnings and errors (non-modal, so reading goes on)."""

from __future__ import annotations

from typing import Iterable

from PySide6 import QtWidgets

STYLES = {
    "warning": "background:#5a4a12; color:#ffe9a8;",
    "error": "background:#6a1d1d; color:#ffd6d6;",
    "info": "background:#1d3a5a; color:#d6e9ff;",
}


class MessageBar(QtWidgets.QFrame):
    """Shows one message (with details in a tooltip) until closed or replaced."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("message_bar")
        self.label = QtWidgets.QLabel(self)
        self.label.setWordWrap(True)
        self.label.setObjectName("message_text")
        close = QtWidgets.QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.kind = ""
        self.hide()

    def show_message(self, kind: str, title: str, lines: Iterable[str] = ()) -> None:
        """Show ``title`` followed by ``lines`` (one per warning); kind: warning/error/info."""
        lines = [str(x) for x in lines]
        self.kind = kind
        self.setStyleSheet(f"QFrame#message_bar {{{STYLES.get(kind, '')}}} QLabel {{{STYLES.get(kind, '')}}}")
        text = title if not lines else title + "\n" + "\n".join(f"• {x}" for x in lines)
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        """The message shown (empty when hidden)."""
        return self.label.text() if self.isVisible() else ""
