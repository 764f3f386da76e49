"""File > Open from PACS…, Save answers as DICOM and Send to PACS, against a real Orthanc
(tests/pacs/orthanc_server.py: loopback, authentication on, the A0002 chest series loaded)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pacs"))

from orthanc_fixtures import orthanc  # noqa: E402, F401  (the shared fixture: pytest finds it by name here)
from orthanc_server import CT_SERIES, PASSWORD, USER  # noqa: E402

pytestmark = pytest.mark.gui
QUESTION = "Is there a lung mass?"


@pytest.fixture
def pacs_window(window, orthanc, tmp_path, monkeypatch):
    """The window with one DICOMweb node (a user, no password written) in a private settings file;
    the password prompt answers the right password and counts its calls."""
    from inference.pacs import Node
    from inference.pacs.nodes import PASSWORD_ENV, save_node

    monkeypatch.setenv("CTCHAT_PACS_NODES", str(tmp_path / "nodes.json"))
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    save_node(Node(name="test", dicomweb_url=orthanc.dicomweb_url, user=USER, timeout_s=10))
    assert PASSWORD not in (tmp_path / "nodes.json").read_text()
    window.asked = []
    window.pacs.ask_password = lambda _parent, node: window.asked.append(node.name) or PASSWORD
    return window


def search(qtbot, dialog, patient_id: str = "Lung_Dx-A0002") -> str:
    dialog.patient_id.setText(patient_id)
    with qtbot.waitSignal(dialog.searchFinished, timeout=30000) as finished:
        assert dialog.search() is not None
    return finished.args[0]


def test_search_retrieve_and_open(qtbot, pacs_window):
    from inference.io import load_volume
    from viewer.models.pacs_search import MASK

    dialog = pacs_window.pacs.show_open_dialog()
    assert dialog.node_box.currentText() == "test" and dialog.modality.text() == "CT"
    assert search(qtbot, dialog) == "found", dialog.status.text()
    assert len(dialog.studies) == 1 and pacs_window.asked == ["test"]
    study = dialog.tree.topLevelItem(0)
    assert study.text(2) == MASK and study.text(3) == MASK  # patient fields masked by default
    dialog.show_patient.setChecked(True)
    assert dialog.tree.topLevelItem(0).text(2) == "Lung_Dx-A0002"
    dialog.show_patient.setChecked(False)
    (row,) = [r for r in dialog.rows() if r.openable]
    assert row.modality == "CT" and row.images == "30" and dialog.selected_row() == row

    with qtbot.waitSignal(pacs_window.loadFinished, timeout=120000) as loaded:
        task = dialog.retrieve()
        assert task is not None
        assert not dialog.search_button.isEnabled() and dialog.cancel_button.isEnabled()
    assert loaded.args == ["loaded"], pacs_window.message_bar.text()
    assert not dialog.isVisible()
    expected = load_volume(CT_SERIES)
    assert pacs_window.scan.volume.shape == expected.shape
    assert np.array_equal(pacs_window.scan.volume.voxels, expected.voxels)
    assert search(qtbot, pacs_window.pacs.show_open_dialog()) == "found"
    assert pacs_window.asked == ["test"]  # the password was kept in memory, not asked again


def test_retrieve_as_prior_opens_beside_the_scan(qtbot, pacs_window):
    from viewer.models.layout import LAYOUT_PRIOR
    from viewer.models.prior_link import FRAME

    with qtbot.waitSignal(pacs_window.loadFinished, timeout=120000) as loaded:
        pacs_window.open_path(str(CT_SERIES))  # the scan in view, from disk
    assert loaded.args == ["loaded"]
    dialog = pacs_window.pacs.show_open_dialog()
    assert search(qtbot, dialog) == "found"
    with qtbot.waitSignal(pacs_window.prior.loadFinished, timeout=120000) as prior_loaded:
        assert dialog.retrieve(as_prior=True) is not None
    assert prior_loaded.args == ["loaded"], pacs_window.message_bar.text()
    assert pacs_window.scan.path == str(CT_SERIES)  # the scan in view stays
    prior = pacs_window.prior
    assert np.array_equal(prior.scan.volume.voxels, pacs_window.scan.volume.voxels)
    assert prior.link.alignment.how == FRAME and pacs_window.layouts.layout_name == LAYOUT_PRIOR
    assert not prior.measurable  # the scan itself: its measurements are the main views' own
    pacs_window.axial.set_slice(7)
    qtbot.waitUntil(lambda: prior.view.slice_index == 7, timeout=3000)  # the same series: the same slice


def test_cancel_keeps_the_images_and_the_app(qtbot, pacs_window, monkeypatch):
    import viewer.window.pacs_dialog as pacs_dialog
    from inference.pacs.cache import cache_root

    real = pacs_dialog.retrieve_series

    def slow_after_five(node, study, series, progress, cancel):
        def report(done, total):
            progress(done, total)
            if done >= 5:
                cancel.wait(30)  # the PACS is slow from here: the reader clicks Cancel
        return real(node, study, series, report, cancel)

    monkeypatch.setattr(pacs_dialog, "retrieve_series", slow_after_five)
    dialog = pacs_window.pacs.show_open_dialog()
    assert search(qtbot, dialog) == "found"
    (row,) = [r for r in dialog.rows() if r.openable]
    task = dialog.retrieve()
    qtbot.waitUntil(lambda: dialog.progress.value() >= 5, timeout=30000)
    with qtbot.waitSignal(dialog.retrieveFinished, timeout=30000) as finished:
        dialog.cancel_button.click()
    assert finished.args == ["failed"]
    assert "cancelled" in dialog.status.text() and "kept" in dialog.status.text()
    assert "\n" not in dialog.status.text()
    task.wait(10000)
    kept = list((cache_root() / row.study_uid / row.series_uid).glob("*.dcm"))
    assert 5 <= len(kept) < 30
    assert pacs_window.scan is None and dialog.isVisible()  # nothing opened; the app goes on
    monkeypatch.setattr(pacs_dialog, "retrieve_series", real)
    with qtbot.waitSignal(pacs_window.loadFinished, timeout=120000) as loaded:
        dialog.retrieve()
    assert loaded.args == ["loaded"]


def test_a_wrong_password_is_one_sentence_in_the_dialog(qtbot, pacs_window):
    pacs_window.pacs.ask_password = lambda _parent, _node: "wrong"
    dialog = pacs_window.pacs.show_open_dialog()
    assert search(qtbot, dialog) == "failed"
    text = dialog.status.text()
    assert "refused the credentials" in text and "\n" not in text and text.endswith(".")
    assert dialog.tree.topLevelItemCount() == 0
    pacs_window.pacs.ask_password = lambda _parent, _node: PASSWORD  # forgotten: asked again, right this time
    assert search(qtbot, dialog) == "found"


def chat_standing_in(n_slices: int) -> SimpleNamespace:
    """The chat's part Save reads (its transcript and the model's summary), without a model run."""
    from inference.chat.session import Answer
    from inference.question import Question
    from viewer.models.transcript import Entry

    scores = np.full(n_slices, 0.01)
    scores[[13, 14, 15]] = [0.2, 0.3, 0.2]
    answer = Answer(Question("open", QUESTION), "Yes: a right perihilar mass.", scores, scores, [14, 13, 15],
                    notes=["a note"])
    entry = Entry(1, answer.question, answer.text, answer)
    model = SimpleNamespace(entries=[entry], model_info={"summary": {"name": "default", "version": "0.1.0"}})
    return SimpleNamespace(model=model, shutdown=lambda: None)


def load(qtbot, window, path) -> None:
    with qtbot.waitSignal(window.loadFinished, timeout=120000) as loaded:
        window.open_path(str(path))
    assert loaded.args == ["loaded"], window.message_bar.text()


def test_save_as_dicom_then_send_puts_the_sr_in_the_pacs(qtbot, pacs_window, orthanc, tmp_path):
    from viewer.models.measurement_records import MeasurementRecord

    load(qtbot, pacs_window, CT_SERIES)
    pacs_window.chat = chat_standing_in(pacs_window.scan.volume.n_original)
    try:
        ruler = MeasurementRecord("ruler", "axial", 14, (200.0, 210.0, 14.0), (240.0, 230.0, 14.0), length_mm=31.5)
        pacs_window.axial.measure.restore([ruler])
        assert len(pacs_window.measurements.sr_items()) == 1
        with qtbot.waitSignal(pacs_window.pacs.finished, timeout=60000) as saved:
            pacs_window.pacs.save_dicom(tmp_path / "answers.dcm")
        assert saved.args == ["saved"], pacs_window.message_bar.text()
        assert "1 answer, 1 measurement" in pacs_window.message_bar.text()
        sr = pydicom.dcmread(tmp_path / "answers.dcm")
        kos = pydicom.dcmread(tmp_path / "answers_kos.dcm")
        assert sr.Modality == "SR" and kos.Modality == "KO"
        assert QUESTION in json.dumps(sr.to_json_dict()) and "Length" in json.dumps(sr.to_json_dict())
        source = sorted((pydicom.dcmread(p, stop_before_pixels=True) for p in CT_SERIES.glob("*.dcm")),
                        key=lambda d: float(d.ImagePositionPatient[2]))
        assert sr.StudyInstanceUID == source[0].StudyInstanceUID

        with qtbot.waitSignal(pacs_window.pacs.finished, timeout=60000) as sent:
            pacs_window.pacs.send("test")
        assert sent.args == ["sent"], pacs_window.message_bar.text()
        assert "Sent the SR and the KOS (2 files) to test" in pacs_window.message_bar.text()
        found = orthanc.rest("/tools/find", json.dumps(
            {"Level": "Instance", "Query": {"SOPInstanceUID": str(sr.SOPInstanceUID)}}).encode())
        assert len(found) == 1  # the SR is in the PACS, found back by its UID
    finally:
        pacs_window.chat = None

    dialog = pacs_window.pacs.show_open_dialog()  # the SR series is listed, greyed, and says why
    assert search(qtbot, dialog) == "found"
    sr_rows = [r for r in dialog.rows() if r.modality == "SR"]
    assert sr_rows and not sr_rows[0].openable and "not CT (SR)" in sr_rows[0].why_not
    assert not dialog.items_of(sr_rows[0]).flags() & dialog.items_of(sr_rows[0]).flags().ItemIsSelectable


def test_a_nifti_cannot_be_saved_as_dicom(qtbot, pacs_window):
    from gui_helpers import SMALL_NIFTI, need

    load(qtbot, pacs_window, need(SMALL_NIFTI))
    assert pacs_window.pacs.save_dicom("never.dcm") is None
    text = pacs_window.message_bar.text()
    assert "NIfTI" in text and "no DICOM UIDs" in text and "\n" not in text
    assert not Path("never.dcm").exists()


def test_the_node_editor_adds_and_removes_without_writing_a_password(qtbot, tmp_path, monkeypatch):
    from inference.pacs import load_nodes
    from viewer.window.pacs_nodes_dialog import NodesDialog

    settings = tmp_path / "nodes.json"
    monkeypatch.setenv("CTCHAT_PACS_NODES", str(settings))
    dialog = NodesDialog()
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentIndex(1)  # DIMSE
    assert not dialog.add_from_form() and "name" in dialog.message.text()
    dialog.name.setText("modality")
    assert not dialog.add_from_form() and "AE title" in dialog.message.text()  # the node's own sentence
    dialog.host.setText("10.0.0.5")
    dialog.aet.setText("PACS_AE")
    dialog.user.setText("doc")
    assert dialog.add_from_form(), dialog.message.text()
    node = load_nodes()["modality"]
    assert (node.kind, node.host, node.aet, node.user) == ("dimse", "10.0.0.5", "PACS_AE", "doc")
    assert settings.stat().st_mode & 0o777 == 0o600 and "password" not in settings.read_text()
    assert dialog.node_list.count() == 1
    assert "modality: DIMSE PACS_AE@10.0.0.5:104 as doc" in dialog.node_list.item(0).text()
    dialog.node_list.setCurrentRow(0)
    dialog.remove_selected()
    assert load_nodes() == {} and dialog.node_list.count() == 0
