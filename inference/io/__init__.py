"""CT input: DICOM series folders and files, NIfTI files, into one :class:`Volume`.

Example:
    >>> from inference.io import list_series, load_volume
    >>> for s in list_series("/data/study"):                 # doctest: +SKIP
    ...     print(s.uid, s.description, s.n_slices)
    >>> vol = load_volume("/data/study", series_uid=s.uid)    # doctest: +SKIP
    >>> [w.message for w in vol.warnings]                     # doctest: +SKIP

To list a folder's series and then load one, read the folder once and load from what was read:

    >>> folder = read_dicom_folder("/data/study")            # doctest: +SKIP
    >>> vol = load_volume(folder, folder.series[0].uid)       # doctest: +SKIP
"""

from .errors import CTLoadError, LoadWarning
from .identity import scan_identity
from .loader import DicomFolder, LoadCancelled, SeriesInfo, list_series, load_volume, read_dicom_folder
from .volume import Volume

__all__ = [
    "CTLoadError",
    "DicomFolder",
    "LoadCancelled",
    "LoadWarning",
    "SeriesInfo",
    "Volume",
    "list_series",
    "load_volume",
    "read_dicom_folder",
    "scan_identity",
]
