"""One Orthanc per test module (started only by the modules that use ``orthanc``, defined in
orthanc_fixtures.py), loaded with the A0002 chest series (30 slices); nodes that reach it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from orthanc_fixtures import orthanc  # noqa: E402, F401  (the shared fixture: pytest finds it by name here)
from orthanc_server import AET, OUR_AET, PASSWORD, USER  # noqa: E402


@pytest.fixture
def pacs_cache(tmp_path):
    """A cache folder of its own for each test."""
    return tmp_path / "cache"


@pytest.fixture
def web_node(orthanc):
    from inference.pacs import Node

    return Node(name="web", dicomweb_url=orthanc.dicomweb_url, user=USER, password=PASSWORD, timeout_s=10)


@pytest.fixture
def dimse_node(orthanc):
    from inference.pacs import Node

    return Node(name="dimse", host="127.0.0.1", port=orthanc.dicom_port, aet=AET, our_aet=OUR_AET,
                our_port=orthanc.move_port, timeout_s=10)
