"""What the Open from PACS dialog shows and remembers, without Qt: the search form turned into a
:class:`~inference.pacs.StudyQuery`, each series as a row (openable or greyed, and why), patient
fields masked until the reader asks to see them, and the passwords typed this session.

Passwords live here, in memory, for as long as the viewer runs: the settings file never holds
one (:mod:`inference.pacs.nodes`), and a password the PACS refused is forgotten so that it is
asked again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inference.pacs import Node, Series, Study, StudyQuery

MASK = "••••"  # a patient field until "Show patient ID and name" is ticked (screenshots, shoulders)
OPENABLE_MODALITY = "CT"


def study_query(patient_id: str = "", patient_name: str = "", accession: str = "", date_from: str = "",
                date_to: str = "", modality: str = OPENABLE_MODALITY) -> StudyQuery:
    """The search form as a query (fields stripped; empty ones match anything).

    Raises:
        PacsError: a date not written YYYYMMDD, or a range that ends before it starts.
    """
    from inference.pacs import PacsError, StudyQuery

    query = StudyQuery(patient_id=patient_id.strip(), patient_name=patient_name.strip(),
                       accession_number=accession.strip(), date_from=date_from.strip(), date_to=date_to.strip(),
                       modality=modality.strip().upper())
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise PacsError(f"the date range ends ({query.date_to}) before it starts ({query.date_from})")
    return query


def masked(value: str, show: bool) -> str:
    """A patient field as the dialog shows it: itself when ``show``, else the mask (or nothing)."""
    if not value:
        return ""
    return value if show else MASK


@dataclass(frozen=True)
class SeriesRow:
    """One series of a study, as a row of the results; ``why_not`` says why it cannot be opened."""

    study_uid: str
    series_uid: str
    label: str
    modality: str
    images: str
    why_not: str = ""

    @property
    def openable(self) -> bool:
        """Whether Retrieve can open it (a CT series with images)."""
        return not self.why_not


def why_not_openable(series: Series) -> str:
    """Why a series is listed but cannot be opened ('' when it can): the viewer reads CT only."""
    modality = (series.modality or "").upper()
    if modality != OPENABLE_MODALITY:
        return f"not CT ({modality or 'no modality'}): the viewer opens CT only"
    if series.n_instances == 0:
        return "the PACS lists no images in this series"
    return ""


def series_rows(study: Study) -> list[SeriesRow]:
    """The rows of a study's series, by series number (those without one last)."""
    ordered = sorted(study.series, key=lambda s: (s.series_number is None, s.series_number or 0))
    rows = []
    for s in ordered:
        number = "" if s.series_number is None else f"#{s.series_number} "
        rows.append(SeriesRow(study.study_uid, s.series_uid, f"{number}{s.description or '(no description)'}",
                              s.modality or "", "" if s.n_instances is None else str(s.n_instances),
                              why_not_openable(s)))
    return rows


def study_label(study: Study) -> str:
    """A study's first column: its description and accession number (not patient data)."""
    label = study.description or "(no description)"
    return f"{label}  [acc. {study.accession_number}]" if study.accession_number else label


def shown_date(value: str) -> str:
    """``YYYYMMDD`` as ``YYYY-MM-DD`` (anything else as it is)."""
    return f"{value[:4]}-{value[4:6]}-{value[6:]}" if len(value) == 8 and value.isdigit() else value


class PasswordBook:
    """The passwords (or bearer tokens) typed in this session, by node name; never written."""

    def __init__(self) -> None:
        self._by_node: dict[str, str] = {}

    def remember(self, node_name: str, password: str) -> None:
        """Keep ``password`` for ``node_name`` until the viewer closes (or the PACS refuses it)."""
        self._by_node[node_name] = password

    def forget(self, node_name: str) -> None:
        """Drop the node's password (the PACS refused it: it is asked again next time)."""
        self._by_node.pop(node_name, None)

    def with_password(self, node: Node) -> Node:
        """``node`` carrying the password typed for it, if any (a copy: the settings' node is untouched)."""
        typed = self._by_node.get(node.name)
        return node if typed is None else dataclasses.replace(node, password=typed)

    def needs_password(self, node: Node) -> bool:
        """Whether ``node`` logs in and has no password yet: typed, in the keyring or in the environment."""
        if not (node.user or node.auth == "bearer"):
            return False
        return self.with_password(node).secret() is None


def refused_credentials(sentence: str) -> bool:
    """Whether a PACS failure says the password was refused (it is then forgotten)."""
    return "refused the credentials" in sentence
