"""The yes/no disease box: the diseases the bundle was trained for first (it opens on one), the
others apart below a separator and a heading that says they were not trained."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

NOT_TRAINED_HEADING = "not trained:"


def fill_disease_box(box: QtWidgets.QComboBox, diseases: list[str], trained: tuple[str, ...]) -> None:
    """Put ``diseases`` in ``box``: those of ``trained`` (any case) first, then, when there are
    both, a separator, a heading that cannot be chosen and the rest in their own order."""
    wanted = {d.lower() for d in trained}
    first = [d for d in diseases if d.lower() in wanted]
    rest = [d for d in diseases if d.lower() not in wanted]
    box.clear()
    box.addItems(first)
    if first and rest:
        box.insertSeparator(box.count())
        box.addItem(NOT_TRAINED_HEADING)
        model = box.model()
        if isinstance(model, QtGui.QStandardItemModel):  # a QComboBox's own model: the heading is not a choice
            heading = model.item(box.count() - 1)
            heading.setEnabled(False)
            heading.setSelectable(False)
    box.addItems(rest)
    box.setCurrentIndex(0)
