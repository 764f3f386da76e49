"""Fixtures of ``ctchat pull`` / ``ctchat models``: the loopback Hub (hub_server.py) serving
repositories made from the tiny random Gemma 3 of tests/slices (fixture_gemma3.py), and for each
test its own models and data folders, no token, and huggingface_hub pointed at the loopback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "slices"))  # fixture_gemma3.py

from hub_server import FakeRepo, HubServer  # noqa: E402
from tiny_repos import CARD, GGUF_REPO, PROJECTOR, SAFETENSORS_REPO, TEXT_F32, TEXT_Q8, folder_files  # noqa: E402


@pytest.fixture(scope="session")
def hub_server():
    with HubServer() as hub:
        yield hub


def point_at(mp: pytest.MonkeyPatch, hub: HubServer, root: Path) -> Path:
    """Models and data folders under ``root``, the loopback Hub, no token; returns the models folder."""
    import huggingface_hub.constants

    from inference.models import hub as hub_module

    mp.setenv("HF_ENDPOINT", hub.url)
    mp.setenv("CTCHAT_MODELS_DIR", str(root / "models"))
    mp.setenv("CTCHAT_DATA_DIR", str(root / "data"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        mp.delenv(name, raising=False)
    # no saved login either (huggingface_hub read HF_HOME when it was imported)
    mp.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(root / "hf-token-none"))
    mp.setattr(huggingface_hub.constants, "HF_STORED_TOKENS_PATH", str(root / "hf-stored-tokens-none"))
    mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    mp.setattr(hub_module, "RETRY_WAIT_S", 0.0)
    return root / "models"


@pytest.fixture
def models_dir(tmp_path, monkeypatch, hub_server) -> Path:
    """This test's own models folder (not created), with the loopback Hub and its faults reset."""
    hub_server.seen.clear()
    hub_server.drop_after.clear()
    hub_server.fail_with.clear()
    return point_at(monkeypatch, hub_server, tmp_path)


@pytest.fixture(scope="session")
def gemma3_source(tmp_path_factory) -> Path:
    """The tiny random Gemma 3 folder in MedGemma 1.5's published layout."""
    from tiny_bundle import medgemma_tiny_or_skip

    return medgemma_tiny_or_skip(tmp_path_factory.mktemp("gemma3"))


@pytest.fixture(scope="session")
def pulled_safetensors(hub_server, gemma3_source, tmp_path_factory) -> Path:
    """The safetensors repository pulled once (converted at q8_0); returns its models folder."""
    from inference.cli import main

    hub_server.add(FakeRepo(SAFETENSORS_REPO, folder_files(gemma3_source)))
    with pytest.MonkeyPatch.context() as mp:
        models = point_at(mp, hub_server, tmp_path_factory.mktemp("pulled"))
        assert main(["pull", SAFETENSORS_REPO, "--quant", "q8_0", "--accept"]) == 0
    return models


@pytest.fixture(scope="session")
def gguf_repo(hub_server, pulled_safetensors) -> FakeRepo:
    """A repository laid out as llama.cpp GGUF pairs are published: two quantisations of the
    text model (the F32 one is bytes nobody should fetch), the f16 projector and a model card."""
    bundle = pulled_safetensors / "medgemma-tiny"
    files = {TEXT_Q8: (bundle / "model.gguf").read_bytes(), TEXT_F32: os.urandom(50_000),
             PROJECTOR: (bundle / "mmproj.gguf").read_bytes(), "README.md": CARD}
    return hub_server.add(FakeRepo(GGUF_REPO, files))
