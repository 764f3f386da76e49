"""A DICOMweb node (QIDO-RS, WADO-RS, STOW-RS) through dicomweb-client, with basic or bearer
authentication and TLS verification as the node says."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .cache import SeriesFolder
from .errors import PacsError, needs_extra
from .nodes import Node
from .query import Series, Study, StudyQuery, as_int

PAGE = 100  # QIDO-RS results per request: a study of thousands of images is listed page by page


def _value(item: dict, tag: str) -> str:
    """The first value of a DICOM JSON attribute, as text ('' when absent)."""
    values = item.get(tag, {}).get("Value") or [""]
    first = values[0]
    if isinstance(first, dict):  # a person name
        return str(first.get("Alphabetic", ""))
    return str(first)


class DicomWebNode:
    """One DICOMweb server, logged in."""

    def __init__(self, node: Node) -> None:
        try:
            import requests
            from dicomweb_client import DICOMwebClient
        except ImportError as exc:
            raise needs_extra("dicomweb-client") from exc
        self.node = node
        session = requests.Session()
        secret = node.secret()
        if node.auth == "bearer" and secret:
            session.headers["Authorization"] = f"Bearer {secret}"
        elif node.user:
            session.auth = (node.user, secret or "")
        session.verify = node.verify
        self.client = DICOMwebClient(node.dicomweb_url.rstrip("/"), session=session, timeout=node.timeout_s)

    @contextmanager
    def _sentences(self, doing: str) -> Iterator[None]:
        """Turn the HTTP library's failures into one sentence naming the node."""
        import requests

        where = self.node.where
        try:
            yield
        except requests.exceptions.SSLError:
            raise PacsError(f"{where}: the TLS certificate could not be verified while {doing} "
                            "(give the node's CA bundle as verify)") from None
        except requests.exceptions.ConnectionError:
            raise PacsError(f"{where} did not answer while {doing}: check the URL and that the server is up") from None
        except requests.exceptions.Timeout:
            raise PacsError(f"{where} did not answer within {self.node.timeout_s:g} s while {doing}") from None
        except requests.exceptions.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status in (401, 403):
                raise PacsError(f"{where} refused the credentials (HTTP {status}) while {doing}: "
                                "check the user and CTCHAT_PACS_PASSWORD") from None
            raise PacsError(f"{where} answered HTTP {status} while {doing}") from None

    def echo(self) -> None:
        """Raise unless the server answers a query with these credentials."""
        with self._sentences("checking the connection"):
            self.client.search_for_studies(limit=1)

    def find(self, query: StudyQuery) -> list[Study]:
        """Studies matching ``query`` (at most ``query.limit``), each with its series."""
        filters = query.keys()
        fields = ["PatientID", "PatientName", "StudyDate", "AccessionNumber", "StudyDescription", "ModalitiesInStudy"]
        studies: list[Study] = []
        with self._sentences("searching for studies"):
            while len(studies) < query.limit:
                want = min(PAGE, query.limit - len(studies))
                page = self.client.search_for_studies(search_filters=filters, fields=fields, offset=len(studies),
                                                      limit=want, fuzzymatching=False)
                studies += [self._study(item) for item in page]
                if len(page) < want:  # the last page
                    break
            for study in studies:
                study.series = self.series_of(study.study_uid)
        return studies

    def series_of(self, study_uid: str) -> list[Series]:
        """The series of one study."""
        with self._sentences("listing a study's series"):
            items = self.client.search_for_series(
                study_uid, fields=["SeriesDescription", "NumberOfSeriesRelatedInstances"], get_remaining=True)
        return [Series(_value(i, "0020000E"), _value(i, "00080060"), as_int(_value(i, "00200011")),
                       _value(i, "0008103E"), as_int(_value(i, "00201209"))) for i in items]

    def instances(self, study_uid: str, series_uid: str) -> list[str]:
        """The SOPInstanceUIDs of a series (paged: a series may hold thousands)."""
        with self._sentences("listing a series' images"):
            items = self.client.search_for_instances(study_uid, series_uid, limit=PAGE, get_remaining=True)
        return [_value(i, "00080018") for i in items]

    def fetch(self, study_uid: str, series_uid: str, missing: Sequence[str], folder: SeriesFolder,
              received: Callable[[str], None], cancel: threading.Event | None) -> None:
        """WADO-RS, one instance at a time, each written to disk as it arrives."""
        with self._sentences("retrieving images"):
            for sop in missing:
                if cancel is not None and cancel.is_set():
                    return
                dataset = self.client.retrieve_instance(study_uid, series_uid, sop)
                folder.write_dataset(dataset)
                received(sop)

    def store(self, paths: Sequence[Path]) -> None:
        """STOW-RS the files (a few at a time, so a big send does not sit in memory at once)."""
        import pydicom

        with self._sentences("sending files"):
            for start in range(0, len(paths), 16):
                datasets = [pydicom.dcmread(p) for p in paths[start:start + 16]]
                answer = self.client.store_instances(datasets)
                failed = answer.get("FailedSOPSequence") if answer is not None else None
                if failed:
                    raise PacsError(f"{self.node.where} refused {len(failed)} of the files sent")

    @staticmethod
    def _study(item: dict) -> Study:
        modalities = item.get("00080061", {}).get("Value") or []
        return Study(_value(item, "0020000D"), _value(item, "00100020"), _value(item, "00100010"),
                     _value(item, "00080020"), _value(item, "00080050"), _value(item, "00081030"),
                     [str(m) for m in modalities])
