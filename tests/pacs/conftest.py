"""One Orthanc per test module (started only by the modules that use ``orthanc``), loaded with
the A0002 chest series (30 slices)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from orthanc_server import AET, CT_SERIES, DICOMWEB_PLUGIN, ORTHANC, OUR_AET, PASSWORD, USER, OrthancServer  # noqa: E402


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    """A running Orthanc holding the A0002 series."""
    if ORTHANC is None:
        pytest.skip("the Orthanc binary is not installed (scripts/install.sh installs it)")
    if DICOMWEB_PLUGIN is None:
        pytest.skip("Orthanc's DICOMweb plugin is not installed (orthanc-dicomweb)")
    server = OrthancServer(tmp_path_factory.mktemp("orthanc"))
    server.start()
    server.upload(sorted(CT_SERIES.glob("*.dcm")))
    yield server
    server.stop()


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
