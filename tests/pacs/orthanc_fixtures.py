"""The one ``orthanc`` fixture of the PACS tests (tests/pacs and the viewer's tests/gui/test_pacs_dialog.py).

Modules that need it import it by name (``from orthanc_fixtures import orthanc``): pytest finds a
fixture in a conftest or test module's namespace. A ``pytest_plugins`` entry would instead load it
for every test of the run and is only allowed in the rootdir conftest, and ``from conftest import``
is ambiguous with several conftest.py files, so an import of this module is the clean way to share it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from orthanc_server import CT_SERIES, DICOMWEB_PLUGIN, ORTHANC, OrthancServer


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """A running Orthanc holding the A0002 series (30 slices), one per test module that asks for it;
    skipped (with the reason) where Orthanc, its DICOMweb plugin or the series is missing."""
    if ORTHANC is None:
        pytest.skip("the Orthanc binary is not installed (scripts/install.sh installs it)")
    if DICOMWEB_PLUGIN is None:
        pytest.skip("Orthanc's DICOMweb plugin is not installed (orthanc-dicomweb)")
    if not CT_SERIES.exists():
        pytest.skip(f"test data missing: {CT_SERIES}")
    server = OrthancServer(tmp_path_factory.mktemp("orthanc"))
    try:
        server.start()
        server.upload(sorted(CT_SERIES.glob("*.dcm")))
        yield server
    finally:
        server.stop()  # also after a failed start or upload: no Orthanc process outlives the module
