"""A CD or DVD export's index: the DICOMDIR, and the DIRFILE some exporters write beside it.

A DICOMDIR lists the export's image files. Under its folder, ctchat reads the files it lists and
nothing else: the index itself, a DIRFILE and the rest of an export (often a viewer program with
its libraries) are not scans, so they are not reported as files that could not be used. A file
the index lists but the export lacks is reported; an index that cannot be read is reported too,
and then every file under its folder is read as in any folder.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from .errors import CTLoadError

DICOMDIR = "DICOMDIR"
DIRFILE = "DIRFILE"  # a proprietary index some exporters write beside the DICOMDIR
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


def is_dicomdir_name(path: Path) -> bool:
    """True for a file named DICOMDIR (CD file systems may give any case)."""
    return path.name.upper() == DICOMDIR


def indexed_files(files: list[Path], skipped: dict[str, str]) -> list[Path]:
    """``files`` (sorted, as walked), where each DICOMDIR's folder contributes the files it lists.

    Listed files that are not there, and an index that cannot be read, are noted in
    ``skipped`` (name -> why); an index that lists nothing, or cannot be read, is set aside
    with its DIRFILE and the other files are read; a file named DICOMDIR that is not an index
    stays a file.
    """
    for index in [f for f in files if is_dicomdir_name(f)]:
        root = index.parent
        under = [f for f in files if f.is_relative_to(root)]
        try:
            listed = listed_file_ids(index)
        except CTLoadError as exc:
            skipped[index.name] = str(exc)
            listed = []
        if listed is None:
            continue
        if not listed:  # nothing to go by: every other file is read
            files = [f for f in files if f != index and not (f.parent == root and f.name.upper() == DIRFILE)]
            continue
        by_id = {f.relative_to(root).as_posix().upper(): f for f in under}
        found = []
        for file_id in listed:
            if file_id.upper() in by_id:
                found.append(by_id[file_id.upper()])
            else:
                skipped[file_id] = f"{file_id}: listed in the export's DICOMDIR but not found"
        files = sorted(set(files).difference(under).union(found))
    return files


def listed_file_ids(index: Path) -> list[str] | None:
    """The files a DICOMDIR lists, as paths relative to its folder ("DICOM/ST0/SE0/IM0"), in
    its order; None when the file is not a DICOMDIR after all.

    Raises:
        CTLoadError: the DICOMDIR is damaged or not DICOM.
    """
    try:
        ds = pydicom.dcmread(index, stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many types on damaged files
        raise CTLoadError(f"{index.name}: the export's index could not be read ({exc}); every file was read instead") from exc
    if str(ds.get("SOPClassUID", ds.file_meta.get("MediaStorageSOPClassUID", ""))) != MEDIA_STORAGE_DIRECTORY:
        return None
    ids = (_file_id(record) for record in ds.get("DirectoryRecordSequence", []))
    return list(dict.fromkeys(i for i in ids if i))


def _file_id(record: Dataset) -> str:
    """A directory record's ReferencedFileID as a relative path ("" for a record without one)."""
    value = record.get("ReferencedFileID")
    if value is None or value == "":
        return ""
    parts = [value] if isinstance(value, str) else list(value)
    return "/".join(str(p).strip() for p in parts if str(p).strip())
