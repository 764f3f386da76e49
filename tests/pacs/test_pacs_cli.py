"""``ctchat pacs find --json`` and ``get --out`` against Orthanc, inline nodes, password from the
environment; the settings file is private and holds no password."""

from __future__ import annotations

import json
import stat

import numpy as np
from orthanc_server import AET, CT_SERIES, OUR_AET, PASSWORD, USER

from inference.cli import main
from inference.io import load_volume


def test_find_json_then_get_out(orthanc, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CTCHAT_PACS_PASSWORD", PASSWORD)
    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path / "data"))
    web = ["--dicomweb", orthanc.dicomweb_url, "--user", USER]
    assert main(["pacs", "find", *web, "--modality", "CT", "--json"]) == 0
    (study,) = json.loads(capsys.readouterr().out)
    assert study["PatientID"] and study["StudyInstanceUID"]
    (series,) = [s for s in study["series"] if s["Modality"] == "CT"]
    dimse = ["--dimse", f"127.0.0.1:{orthanc.dicom_port}", "--aet", AET, "--our-aet", OUR_AET]
    assert main(["pacs", "get", *dimse, "--study", study["StudyInstanceUID"], "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "retrieved 30/30 images" in captured.err
    folder = tmp_path / "out" / series["SeriesInstanceUID"]
    assert captured.out.strip().splitlines()[-1] == str(folder)
    assert np.array_equal(load_volume(folder).voxels, load_volume(CT_SERIES).voxels)


def test_settings_file_is_private_and_has_no_password(tmp_path, monkeypatch, capsys):
    settings = tmp_path / "nodes.json"
    monkeypatch.setenv("CTCHAT_PACS_NODES", str(settings))
    assert main(["pacs", "node", "add", "hospital", "--dicomweb", "https://pacs.example/dicom-web",
                 "--user", "doc"]) == 0
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    assert "password" not in settings.read_text()
    assert main(["pacs", "node", "list"]) == 0
    assert "hospital: dicomweb https://pacs.example/dicom-web as doc" in capsys.readouterr().out
    assert main(["pacs", "echo", "--node", "nowhere"]) == 1
    assert capsys.readouterr().err.startswith("ctchat: no PACS node named 'nowhere'")
