"""A real Orthanc for the PACS tests: loopback ports, authentication on, DICOMweb plugin,
storage in a temporary folder; stopped (and restartable) by the tests."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

from inference.resources import shared_ct_dir

ORTHANC = shutil.which("Orthanc") or (p if Path(p := "/usr/sbin/Orthanc").exists() else None)
DICOMWEB_PLUGIN = next((str(p) for p in (Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so"),
                                         *sorted(Path("/usr/lib/orthanc").glob("libOrthancDicomWeb.so*")))
                        if p.exists()), None)
USER, PASSWORD = "ctchat", "s3cret-pw"
AET, OUR_AET = "ORTHANC_T", "CTCHAT_T"
CT_SERIES = shared_ct_dir() / "dicom" / "chest_lungdx_A0002_8mm"  # 30 slices, 512 x 512


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OrthancServer:
    """One Orthanc process; ``stop``/``start`` keep its storage (a restart after a kill)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.http_port, self.dicom_port, self.move_port = free_port(), free_port(), free_port()
        self.config = folder / "orthanc.json"
        self.config.write_text(json.dumps({
            "Name": "ctchat-test", "StorageDirectory": str(folder / "storage"), "IndexDirectory": str(folder / "index"),
            "RemoteAccessAllowed": False, "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD},
            "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": AET, "DicomCheckCalledAet": True,
            "DicomModalities": {"ctchat": [OUR_AET, "127.0.0.1", self.move_port]},
            "DicomAlwaysAllowFind": False, "DicomAlwaysAllowGet": False, "DicomAlwaysAllowMove": False,
            "Plugins": [DICOMWEB_PLUGIN], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "HttpsCACertificates": "", "StableAge": 1, "SaveJobs": False,
        }))
        self.process: subprocess.Popen | None = None
        self.log = folder / "orthanc.log"

    @property
    def dicomweb_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/dicom-web"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([ORTHANC, str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited: {self.log.read_text()[-2000:]}")
            try:
                self.rest("/system")
                with socket.create_connection(("127.0.0.1", self.dicom_port), timeout=1):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise RuntimeError("Orthanc did not start within 60 s")

    def kill(self) -> None:
        """Stop it at once (SIGKILL: a server that goes away mid-transfer)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def rest(self, path: str, data: bytes | None = None) -> object:
        """Orthanc's REST API as the test user (the JSON answer)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=data)
        request.add_header("Authorization", "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode())
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def upload(self, files: list[Path]) -> None:
        for path in files:
            self.rest("/instances", path.read_bytes())
