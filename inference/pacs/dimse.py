"""A DIMSE node through pynetdicom: C-ECHO, C-FIND (study root), C-GET or C-MOVE, C-STORE.

Every association is one sentence when it fails: no answer at the address, an association
rejected (AE titles), or a transfer cut (what arrived stays in the cache).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .cache import SeriesFolder
from .errors import PacsError, needs_extra
from .nodes import Node
from .query import Series, Study, StudyQuery, as_int

# the storage classes ctchat takes back: CT images, and the reports and key images it writes
_RECEIVED = ("CTImageStorage", "EnhancedCTImageStorage", "SecondaryCaptureImageStorage",
             "ComprehensiveSRStorage", "Comprehensive3DSRStorage", "EnhancedSRStorage", "BasicTextSRStorage",
             "KeyObjectSelectionDocumentStorage")
_SUCCESS, _PENDING = 0x0000, (0xFF00, 0xFF01)


def _pynetdicom():  # noqa: ANN202 - the module, imported when a DIMSE node is used
    try:
        import pynetdicom
    except ImportError as exc:
        raise needs_extra("pynetdicom") from exc
    # its log would print datasets (patient data) at debug level, and association failures
    # that the sentences here already say
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    return pynetdicom


class DimseNode:
    """One DICOM node reached by DIMSE."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.pn = _pynetdicom()

    def _ae(self):  # noqa: ANN202
        ae = self.pn.AE(ae_title=self.node.our_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.node.timeout_s
        ae.connection_timeout = min(self.node.timeout_s, 10.0)
        return ae

    @contextmanager
    def _association(self, contexts: Sequence[str], doing: str, receive: Callable | None = None) -> Iterator:
        """An established association, or the sentence why not. ``receive`` handles C-STOREs
        sent back on it (C-GET)."""
        pn = self.pn
        ae = self._ae()
        for uid in contexts:
            ae.add_requested_context(uid)
        roles, handlers = [], []
        if receive is not None:
            for name in _RECEIVED:
                uid = getattr(pn.sop_class, name)
                ae.add_requested_context(uid, _transfer_syntaxes())
                roles.append(pn.build_role(uid, scp_role=True))
            handlers = [(pn.evt.EVT_C_STORE, receive)]
        n = self.node
        assoc = ae.associate(n.host, n.port, ae_title=n.aet, ext_neg=roles, evt_handlers=handlers)
        if not assoc.is_established:
            if assoc.is_rejected:
                raise PacsError(f"{n.where} rejected the association while {doing}: check its AE title "
                                f"({n.aet}) and that it knows ours ({n.our_aet})")
            raise PacsError(f"{n.where} did not answer while {doing}: check the host, the port and that "
                            "the PACS is up")
        try:
            yield assoc
        finally:
            if assoc.is_established:
                assoc.release()

    def echo(self) -> None:
        """C-ECHO."""
        with self._association([self.pn.sop_class.Verification], "checking the connection") as assoc:
            status = assoc.send_c_echo()
            if not status or status.Status != _SUCCESS:
                raise PacsError(f"{self.node.where} did not confirm the echo")

    def _find(self, keys: dict[str, str], level: str, wanted: Sequence[str], limit: int | None,
              doing: str) -> list:
        """C-FIND at ``level``: the matching identifiers (at most ``limit``)."""
        from pydicom.dataset import Dataset

        model = self.pn.sop_class.StudyRootQueryRetrieveInformationModelFind
        query = Dataset()
        query.QueryRetrieveLevel = level
        for keyword in wanted:
            setattr(query, keyword, "")
        for keyword, value in keys.items():
            setattr(query, keyword, value)
        found = []
        with self._association([model], doing) as assoc:
            for status, identifier in assoc.send_c_find(query, model):
                if status is None or "Status" not in status:
                    raise PacsError(f"{self.node.where} ended the association while {doing}: check that it "
                                    f"knows our AE title ({self.node.our_aet}) and allows it to query")
                if status.Status in _PENDING and identifier is not None:
                    found.append(identifier)
                    if limit is not None and len(found) >= limit:
                        assoc.abort()  # no paging in DIMSE: stop the answers at the limit
                        break
                elif status.Status not in (_SUCCESS, *_PENDING):
                    raise PacsError(f"{self.node.where} refused the query while {doing} "
                                    f"(status 0x{status.Status:04X}: does it know our AE title {self.node.our_aet}?)")
        return found

    def find(self, query: StudyQuery) -> list[Study]:
        """Studies matching ``query``, each with its series."""
        wanted = ["StudyInstanceUID", "PatientID", "PatientName", "StudyDate", "AccessionNumber",
                  "StudyDescription", "ModalitiesInStudy"]
        found = self._find(query.keys(), "STUDY", wanted, query.limit, "searching for studies")
        studies = [Study(str(i.get("StudyInstanceUID", "")), str(i.get("PatientID", "")),
                         str(i.get("PatientName", "")), str(i.get("StudyDate", "")),
                         str(i.get("AccessionNumber", "")), str(i.get("StudyDescription", "")),
                         _multi(i.get("ModalitiesInStudy"))) for i in found]
        for study in studies:
            study.series = self.series_of(study.study_uid)
        return studies

    def series_of(self, study_uid: str) -> list[Series]:
        """The series of one study."""
        wanted = ["SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
                  "NumberOfSeriesRelatedInstances"]
        found = self._find({"StudyInstanceUID": study_uid}, "SERIES", wanted, None, "listing a study's series")
        return [Series(str(i.get("SeriesInstanceUID", "")), str(i.get("Modality", "")),
                       as_int(i.get("SeriesNumber")), str(i.get("SeriesDescription", "")),
                       as_int(i.get("NumberOfSeriesRelatedInstances"))) for i in found]

    def instances(self, study_uid: str, series_uid: str) -> list[str]:
        """The SOPInstanceUIDs of a series."""
        keys = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid}
        found = self._find(keys, "IMAGE", ["SOPInstanceUID"], None, "listing a series' images")
        return [str(i.SOPInstanceUID) for i in found]

    def fetch(self, study_uid: str, series_uid: str, missing: Sequence[str], folder: SeriesFolder,
              received: Callable[[str], None], cancel: threading.Event | None, whole: bool) -> None:
        """C-GET (or C-MOVE) the ``missing`` instances (the whole series when ``whole``), each
        written to disk as it arrives."""
        from pydicom.dataset import Dataset

        def store(event) -> int:  # noqa: ANN001 - a pynetdicom C-STORE event
            if cancel is not None and cancel.is_set():
                return 0xA700
            dataset = event.dataset
            dataset.file_meta = event.file_meta
            folder.write_dataset(dataset)
            received(str(dataset.SOPInstanceUID))
            return _SUCCESS

        requests = []
        for sop in ([None] if whole else missing):
            ident = Dataset()
            ident.QueryRetrieveLevel = "SERIES" if sop is None else "IMAGE"
            ident.StudyInstanceUID, ident.SeriesInstanceUID = study_uid, series_uid
            if sop is not None:
                ident.SOPInstanceUID = sop
            requests.append(ident)
        if self.node.retrieve == "move":
            self._move(requests, store, cancel)
        else:
            self._get(requests, store, cancel)

    def _get(self, requests: list, store: Callable, cancel: threading.Event | None) -> None:
        model = self.pn.sop_class.StudyRootQueryRetrieveInformationModelGet
        with self._association([model], "retrieving images", receive=store) as assoc:
            for ident in requests:
                if cancel is not None and cancel.is_set():
                    return
                self._check_retrieve(assoc, assoc.send_c_get(ident, model))

    def _move(self, requests: list, store: Callable, cancel: threading.Event | None) -> None:
        """C-MOVE to our own storage SCP, listening while the moves run."""
        pn = self.pn
        scp_ae = self._ae()
        for name in _RECEIVED:
            scp_ae.add_supported_context(getattr(pn.sop_class, name), _transfer_syntaxes())
        try:
            server = scp_ae.start_server(("0.0.0.0", self.node.our_port), block=False,
                                         evt_handlers=[(pn.evt.EVT_C_STORE, store)])
        except OSError as exc:
            raise PacsError(f"cannot listen on port {self.node.our_port} for the images sent back ({exc.strerror})") \
                from None
        model = pn.sop_class.StudyRootQueryRetrieveInformationModelMove
        try:
            with self._association([model], "retrieving images") as assoc:
                for ident in requests:
                    if cancel is not None and cancel.is_set():
                        return
                    self._check_retrieve(assoc, assoc.send_c_move(ident, self.node.our_aet, model))
        finally:
            server.shutdown()

    def _check_retrieve(self, assoc, answers) -> None:  # noqa: ANN001
        """Read a C-GET/C-MOVE's answers; a sentence when it stopped or failed."""
        final = None
        for status, _identifier in answers:
            if status is None or "Status" not in status:
                break
            final = status
        if final is None or assoc.is_aborted:
            raise PacsError(f"the transfer from {self.node.where} stopped before it finished; the images "
                            "already received are kept: run it again to fetch the rest")
        if final.Status not in (_SUCCESS, 0xB000) or int(final.get("NumberOfFailedSuboperations", 0) or 0):
            failed = int(final.get("NumberOfFailedSuboperations", 0) or 0)
            raise PacsError(f"{self.node.where} did not send every image (status 0x{final.Status:04X}, "
                            f"{failed} failed): does it know our AE title {self.node.our_aet}?")

    def store(self, paths: Sequence[Path]) -> None:
        """C-STORE each file, on one association."""
        import pydicom

        classes = sorted({str(pydicom.dcmread(p, stop_before_pixels=True).SOPClassUID) for p in paths})
        with self._association(classes, "sending files") as assoc:
            for path in paths:
                status = assoc.send_c_store(pydicom.dcmread(path))
                if not status or status.Status != _SUCCESS:
                    code = f"0x{status.Status:04X}" if status else "no answer"
                    raise PacsError(f"{self.node.where} refused {Path(path).name} ({code})")


def _multi(value) -> list[str]:  # noqa: ANN001 - a pydicom value: one string or a MultiValue
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _transfer_syntaxes() -> list[str]:
    """The transfer syntaxes we take images in: uncompressed, and the lossless compressions the
    loader decodes (JPEG 2000, JPEG lossless, RLE)."""
    from pydicom import uid

    return [uid.ExplicitVRLittleEndian, uid.ImplicitVRLittleEndian, uid.JPEG2000Lossless, uid.JPEGLosslessSV1,
            uid.JPEGLossless, uid.RLELossless, uid.JPEG2000]
