"""``ctchat models``: the installed bundles and the built-in default (``--json``), ``verify`` and
``rm``; and no command but ``pull`` opens a connection."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from tiny_repos import SAFETENSORS_NAME, SAFETENSORS_REPO

from inference.cli import main
from inference.models.store import folder_bytes


@pytest.fixture
def models(pulled_safetensors, tmp_path, monkeypatch) -> Path:
    """A models folder of this test's own holding a copy of the pulled tiny MedGemma."""
    folder = tmp_path / "models"
    shutil.copytree(pulled_safetensors, folder)
    monkeypatch.setenv("CTCHAT_MODELS_DIR", str(folder))
    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path / "data"))
    return folder


def test_models_json_lists_the_pulled_bundle_and_the_default(models, capsys):
    assert main(["models", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"default", SAFETENSORS_NAME}
    assert rows["default"]["builtin"] is True
    pulled = rows[SAFETENSORS_NAME]
    assert pulled["path"] == str(models / SAFETENSORS_NAME) and pulled["source"] == SAFETENSORS_REPO
    assert pulled["size_bytes"] == folder_bytes(models / SAFETENSORS_NAME) > 0
    assert pulled["licence"].startswith("Health AI Developer Foundations terms of use")
    assert pulled["scope"].startswith("slice-set") and not pulled["builtin"]


def test_models_lists_in_words(models, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert f"{SAFETENSORS_NAME}  " in out and SAFETENSORS_REPO in out and f"path: {models / SAFETENSORS_NAME}" in out


def test_models_verify_finds_a_damaged_file(models, capsys):
    assert main(["models", "verify", SAFETENSORS_NAME]) == 0
    assert "every file matches its manifest" in capsys.readouterr().out
    projector = models / SAFETENSORS_NAME / "mmproj.gguf"
    data = bytearray(projector.read_bytes())
    data[-1] ^= 0xFF
    projector.write_bytes(bytes(data))
    assert main(["models", "verify", SAFETENSORS_NAME]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "mmproj.gguf" in err


def test_models_rm_asks_then_removes(models, capsys):
    assert main(["models", "rm", SAFETENSORS_NAME]) == 1  # no terminal to ask on
    assert "pass --yes" in capsys.readouterr().err and (models / SAFETENSORS_NAME).is_dir()
    assert main(["models", "rm", SAFETENSORS_NAME, "--yes"]) == 0
    assert not (models / SAFETENSORS_NAME).exists()
    assert main(["models", "rm", SAFETENSORS_NAME, "--yes"]) == 1
    assert "no installed bundle named 'medgemma-tiny'" in capsys.readouterr().err
    assert main(["models", "rm", "default", "--yes"]) == 1
    assert "cannot be removed" in capsys.readouterr().err


def test_no_command_but_pull_opens_a_connection(models, monkeypatch, capsys):
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise ConnectionRefusedError("connections are blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # wherever it is, pull is the one that tries
    for argv in (["models"], ["models", "--json"], ["pull", "--list"], ["models", "verify", SAFETENSORS_NAME],
                 ["bundle", "verify", SAFETENSORS_NAME]):
        assert main(argv) == 0, argv
    assert attempts == []
    # the control: pull does try, and says in one sentence that it cannot reach the Hub
    assert main(["pull", "tester/anything", "--accept"]) == 1
    assert attempts and "cannot reach 127.0.0.1" in capsys.readouterr().err
