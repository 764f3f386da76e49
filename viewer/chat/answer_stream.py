"""The streaming answer grows in place in the transcript view, one piece at a time.

Rendering the whole transcript again for every token (``setHtml``: parse and lay out every
earlier answer) costs in proportion to the transcript: 58 ms a token, a stall of the window,
after 12 answers (``ctchat bench viewer``). Instead the view is rendered once when the answer
starts to show, and each later piece is inserted where the answer's text ends, before its
trailing " …"; when the answer finishes, the whole transcript is rendered again.
"""

from __future__ import annotations

import re

from PySide6 import QtGui, QtWidgets

STREAMING_MARK = " …"  # what the transcript shows after an answer still streaming (Entry.shown_text)


class AnswerStream:
    """Where the streaming answer's text ends in ``view``, and what of it is shown."""

    def __init__(self, view: QtWidgets.QTextEdit) -> None:
        self.view = view
        self._cursor: QtGui.QTextCursor | None = None
        self._shown = ""

    def forget(self) -> None:
        """The view was rendered anew: the insertion point is gone."""
        self._cursor = None

    def extend(self, shown: str) -> bool:
        """Show ``shown`` (the answer so far, as the transcript shows it, without the mark) by
        inserting what is new; False when that cannot be done (render the view, then :meth:`anchor`)."""
        if self._cursor is None or not self._shown or not shown.startswith(self._shown):
            return False
        new = re.sub(r"\s+", " ", shown[len(self._shown):])  # as HTML shows the whole text
        if new:
            self._cursor.insertText(new)
        self._shown = shown
        return True

    def anchor(self, shown: str) -> None:
        """After a render that shows ``shown``: insert later text just before the last mark
        (the streaming answer is the transcript's last). Nothing is anchored while ``shown`` is
        empty (the text would take the bold of "A:")."""
        self._cursor = None
        if not shown:
            return
        doc = self.view.document()
        found = doc.find(STREAMING_MARK, doc.characterCount(), QtGui.QTextDocument.FindFlag.FindBackward)
        if found.isNull():
            return
        found.setPosition(found.selectionStart())
        self._cursor, self._shown = found, shown
