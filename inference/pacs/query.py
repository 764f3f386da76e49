"""What a search asks for and what it finds: plain dataclasses, the same for DICOMweb and DIMSE."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import PacsError

DEFAULT_LIMIT = 200  # studies per search: a broad query on a big PACS stops here (--limit changes it)
_DATE = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class StudyQuery:
    """Search filters (empty: any). Dates are ``YYYYMMDD``; a name may use ``*`` wildcards."""

    patient_id: str = ""
    patient_name: str = ""
    accession_number: str = ""
    date_from: str = ""
    date_to: str = ""
    modality: str = ""
    study_uid: str = ""
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        for value in (self.date_from, self.date_to):
            if value and not _DATE.match(value):
                raise PacsError(f"a date must be written YYYYMMDD, not {value!r}")
        if self.limit < 1:
            raise PacsError("--limit must be at least 1")

    def date_range(self) -> str:
        """The DICOM range matching value (``A-B``, ``A-``, ``-B`` or empty)."""
        if not (self.date_from or self.date_to):
            return ""
        if self.date_from == self.date_to:
            return self.date_from
        return f"{self.date_from}-{self.date_to}"

    def keys(self) -> dict[str, str]:
        """The study-level matching keys as DICOM keywords (only those given)."""
        pairs = {"PatientID": self.patient_id, "PatientName": self.patient_name,
                 "AccessionNumber": self.accession_number, "StudyDate": self.date_range(),
                 "ModalitiesInStudy": self.modality, "StudyInstanceUID": self.study_uid}
        return {k: v for k, v in pairs.items() if v}


@dataclass
class Series:
    """One series of a study, as the PACS describes it."""

    series_uid: str
    modality: str = ""
    series_number: int | None = None
    description: str = ""
    n_instances: int | None = None


@dataclass
class Study:
    """One study with its series (filled by :func:`~inference.pacs.find_studies`)."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    study_date: str = ""
    accession_number: str = ""
    description: str = ""
    modalities: list[str] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``find --json`` entry, keyed as DICOM names them."""
        return {
            "StudyInstanceUID": self.study_uid, "PatientID": self.patient_id, "PatientName": self.patient_name,
            "StudyDate": self.study_date, "AccessionNumber": self.accession_number,
            "StudyDescription": self.description, "ModalitiesInStudy": self.modalities,
            "series": [{"SeriesInstanceUID": s.series_uid, "Modality": s.modality, "SeriesNumber": s.series_number,
                        "SeriesDescription": s.description, "NumberOfSeriesRelatedInstances": s.n_instances}
                       for s in self.series],
        }


def as_int(value: Any) -> int | None:
    """An IS value (or a string of one) as int; None when absent or malformed."""
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


