"""The layout shared by the viewer's read-only windows: one widget above a Close button."""

from __future__ import annotations

from PySide6 import QtWidgets


def fill_read_only_dialog(dialog: QtWidgets.QDialog, content: QtWidgets.QWidget, size: tuple[int, int]) -> None:
    """Put ``content`` above a Close button in ``dialog`` and give it ``size`` (width, height)."""
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QtWidgets.QVBoxLayout(dialog)
    layout.addWidget(content)
    layout.addWidget(buttons)
    dialog.resize(*size)
