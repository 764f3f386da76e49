"""The loopback Hub speaks the protocol huggingface_hub itself expects: its own ``model_info``
and ``hf_hub_download`` work against it, and it refuses a gated file without the token as the
Hub does. (The pull tests are only as good as this stand-in.)"""

from __future__ import annotations

import hashlib

import pytest
from hub_server import FakeRepo

FILES = {"config.json": b'{"architectures": ["X"]}', "model.gguf": bytes(range(256)) * 100}


@pytest.fixture(autouse=True)
def no_telemetry(monkeypatch) -> None:
    """huggingface_hub's telemetry would fetch its agent list from huggingface.co itself."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)


def test_huggingface_hub_lists_and_downloads_from_the_loopback(hub_server, tmp_path):
    from huggingface_hub import HfApi, hf_hub_download

    repo = hub_server.add(FakeRepo("tester/plain", dict(FILES)))
    info = HfApi(endpoint=hub_server.url).model_info("tester/plain", revision="main", files_metadata=True)
    assert info.sha == repo.commit
    listed = {s.rfilename: s for s in info.siblings}
    assert listed["model.gguf"].lfs.sha256 == hashlib.sha256(FILES["model.gguf"]).hexdigest()
    assert listed["config.json"].lfs is None and listed["config.json"].blob_id == repo.blob_id("config.json")
    path = hf_hub_download("tester/plain", "model.gguf", endpoint=hub_server.url, local_dir=tmp_path / "d",
                           token=False)
    assert open(path, "rb").read() == FILES["model.gguf"]


def test_a_gated_file_without_the_token_is_refused_as_the_hub_refuses_it(hub_server, tmp_path):
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import GatedRepoError

    hub_server.add(FakeRepo("tester/gated-plain", dict(FILES), gated=True))
    with pytest.raises(GatedRepoError):
        hf_hub_download("tester/gated-plain", "model.gguf", endpoint=hub_server.url, local_dir=tmp_path / "d",
                        token=False)
    path = hf_hub_download("tester/gated-plain", "model.gguf", endpoint=hub_server.url, local_dir=tmp_path / "e",
                           token=hub_server.token)
    assert open(path, "rb").read() == FILES["model.gguf"]
