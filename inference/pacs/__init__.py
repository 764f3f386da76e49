"""PACS query/retrieve (DICOMweb and DIMSE) and the answers sent back as DICOM SR and KOS.

What the command line (``ctchat pacs``) and the viewer use:

* :func:`find_studies` (``node``, :class:`StudyQuery`) -> list of :class:`Study`
* :func:`retrieve_series` (``node``, study, series, progress, cancel) -> the cached folder, which
  :func:`inference.io.load_volume` opens like any other
* :func:`send_files` (``node``, paths): STOW-RS or C-STORE
* :func:`write_answer_sr`: a model's answers about a scan as a Comprehensive SR (TID 1500)

The network libraries (pynetdicom, dicomweb-client, highdicom: the ``pacs`` extra) are imported
only when a node is used, so importing this package never needs them.
"""

from __future__ import annotations

from .errors import PacsError
from .nodes import Node, load_nodes, node_by_name
from .query import Series, Study, StudyQuery
from .service import echo, find_studies, retrieve_series, send_files
from .sr_writer import write_answer_sr

__all__ = ["Node", "PacsError", "Series", "Study", "StudyQuery", "echo", "find_studies", "load_nodes",
           "node_by_name", "retrieve_series", "send_files", "write_answer_sr"]
