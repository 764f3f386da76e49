"""The four things a caller does with a PACS node, whichever protocol it speaks.

Example:
    >>> node = node_by_name("hospital")                                     # doctest: +SKIP
    >>> study = find_studies(node, StudyQuery(patient_id="123"))[0]         # doctest: +SKIP
    >>> folder = retrieve_series(node, study.study_uid, study.series[0].series_uid)  # doctest: +SKIP
    >>> volume = load_volume(folder)                                        # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cache import SeriesFolder, enforce_limit
from .errors import PacsError
from .nodes import Node, checked
from .query import Study, StudyQuery

Progress = Callable[[int, int], None]


def _backend(node: Node):  # noqa: ANN202 - a DicomWebNode or a DimseNode
    checked(node)
    if node.kind == "dicomweb":
        from .dicomweb import DicomWebNode

        return DicomWebNode(node)
    from .dimse import DimseNode

    return DimseNode(node)


def echo(node: Node) -> None:
    """Raise :class:`PacsError` unless ``node`` answers (C-ECHO, or a one-study QIDO-RS)."""
    _backend(node).echo()


def find_studies(node: Node, query: StudyQuery) -> list[Study]:
    """Studies matching ``query`` (at most ``query.limit``), each with its series."""
    return _backend(node).find(query)


def retrieve_series(node: Node, study_uid: str, series_uid: str, progress: Progress | None = None,
                    cancel: threading.Event | None = None, cache_root: Path | None = None) -> Path:
    """The series' folder in the local cache, fetched first where instances are missing.

    A series already whole is not fetched again; after a cut transfer only the missing instances
    are. ``progress(done, total)`` counts the series' instances (those cached included).

    Raises:
        PacsError: the node failed or the transfer was cut; what arrived is kept.
    """
    folder = SeriesFolder(study_uid, series_uid, cache_root)
    backend = _backend(node)
    if folder.complete:
        folder.touch()
        n = len(folder.have())
        if progress is not None:
            progress(n, n)
        return folder.path
    wanted = backend.instances(study_uid, series_uid)
    if not wanted:
        raise PacsError(f"{node.where} has no images in series {series_uid} of study {study_uid}")
    have = folder.have() & set(wanted)
    missing = [sop for sop in wanted if sop not in have]
    done = [len(have)]
    lock = threading.Lock()

    def received(_sop: str) -> None:  # C-STORE handlers run on pynetdicom's thread
        with lock:
            done[0] += 1
            count = min(done[0], len(wanted))
        if progress is not None:
            progress(count, len(wanted))

    if progress is not None:
        progress(len(have), len(wanted))
    if missing:
        if node.kind == "dimse":
            backend.fetch(study_uid, series_uid, missing, folder, received, cancel, whole=not have)
        else:
            backend.fetch(study_uid, series_uid, missing, folder, received, cancel)
    if cancel is not None and cancel.is_set():
        raise PacsError(f"retrieval cancelled after {len(folder.have() & set(wanted))} of {len(wanted)} images; "
                        "they are kept for the next time")
    lacking = set(wanted) - folder.have()
    if lacking:
        raise PacsError(f"{node.where} sent {len(wanted) - len(lacking)} of the {len(wanted)} images of series "
                        f"{series_uid}; run it again to fetch the rest")
    folder.mark_complete()
    enforce_limit(folder.path, cache_root)
    return folder.path


@dataclass
class StudyRetrieval:
    """What ``retrieve_study`` fetched and what it left out (series that are not CT)."""

    folders: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "SR series 1.2.3 (Key images)" sentences

    def skipped_sentence(self) -> str:
        """One line naming the series left out ('' when none)."""
        return f"skipped {len(self.skipped)} series that are not CT: {'; '.join(self.skipped)}" if self.skipped else ""


def retrieve_study(node: Node, study_uid: str, progress: Progress | None = None,
                   cancel: threading.Event | None = None, cache_root: Path | None = None) -> StudyRetrieval:
    """Every CT series of a study (others are named in ``skipped``)."""
    series = _backend(node).series_of(study_uid)
    if not series:
        raise PacsError(f"{node.where} has no series in study {study_uid}")
    out = StudyRetrieval()
    for s in series:
        if s.modality.upper() != "CT":
            out.skipped.append(f"{s.modality or 'no modality'} series {s.series_uid}"
                               + (f" ({s.description})" if s.description else ""))
            continue
        out.folders.append(retrieve_series(node, study_uid, s.series_uid, progress, cancel, cache_root))
    if not out.folders:
        raise PacsError(f"study {study_uid} has no CT series ({out.skipped_sentence()})")
    return out


def send_files(node: Node, paths: Sequence[str | Path]) -> int:
    """Send DICOM files (STOW-RS or C-STORE); the number sent."""
    files = [Path(p) for p in paths]
    absent = [p.name for p in files if not p.is_file()]
    if absent:
        raise PacsError(f"no such file to send: {absent[0]}")
    _backend(node).store(files)
    return len(files)
