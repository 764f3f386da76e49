"""The yes/no disease box opens on what the bundle was trained for ("lung nodule" for the
default bundle, 10th of CT-RATE's 18) and shows the untrained diseases apart, below a
separator and a heading that cannot be chosen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui


def test_the_disease_box_opens_on_the_trained_disease(chat_win):
    from inference.llm.prompt import ct_rate_diseases
    from viewer.chat.disease_box import NOT_TRAINED_HEADING

    box = chat_win.chat_panel.disease_box
    trained = chat_win.chat_panel.model_info["scope"].yes_no_diseases
    assert trained == ("lung nodule",) and ct_rate_diseases().index("lung nodule") > 0
    assert box.itemText(0) == "lung nodule" and box.currentText() == "lung nodule"
    # the separator, then the heading: shown, never chosen
    assert box.itemData(1, Qt.ItemDataRole.AccessibleDescriptionRole) == "separator"
    assert box.itemText(2) == NOT_TRAINED_HEADING
    assert not box.model().item(2).isEnabled() and not box.model().item(2).isSelectable()
    rest = [box.itemText(i) for i in range(3, box.count())]
    assert rest == [d for d in ct_rate_diseases() if d != "lung nodule"]
