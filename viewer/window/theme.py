"""A dark application theme matching the black slice views (Qt's Fusion style, dark palette)."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

_ROLE = QtGui.QPalette.ColorRole
_GROUP = QtGui.QPalette.ColorGroup
DARK_COLORS = {
    _ROLE.Window: "#202226", _ROLE.WindowText: "#dcdcdc", _ROLE.Base: "#16171a",
    _ROLE.AlternateBase: "#24262b", _ROLE.ToolTipBase: "#2b2d33", _ROLE.ToolTipText: "#e6e6e6",
    _ROLE.PlaceholderText: "#8a8a8a", _ROLE.Text: "#dcdcdc", _ROLE.Button: "#2b2d33",
    _ROLE.ButtonText: "#dcdcdc", _ROLE.BrightText: "#ff6b6b", _ROLE.Link: "#5fb3ff",
    _ROLE.Highlight: "#2f6db5", _ROLE.HighlightedText: "#ffffff", _ROLE.Light: "#3a3d44",
    _ROLE.Midlight: "#31343a", _ROLE.Mid: "#2a2c31", _ROLE.Dark: "#141518", _ROLE.Shadow: "#000000",
}
DISABLED_TEXT = "#6e6e6e"


def dark_palette() -> QtGui.QPalette:
    """The dark palette (greyed text for disabled widgets)."""
    palette = QtGui.QPalette()
    for role, colour in DARK_COLORS.items():
        palette.setColor(role, QtGui.QColor(colour))
    for role in (_ROLE.WindowText, _ROLE.Text, _ROLE.ButtonText, _ROLE.HighlightedText):
        palette.setColor(_GROUP.Disabled, role, QtGui.QColor(DISABLED_TEXT))
    return palette


def apply_dark_theme(app: QtWidgets.QApplication) -> None:
    """Fusion style with the dark palette, for every window of ``app`` (once is enough)."""
    if app.property("ctchat_dark_theme"):
        return
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setProperty("ctchat_dark_theme", True)
