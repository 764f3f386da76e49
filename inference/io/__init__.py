"""CT input: DICOM series folders and files, NIfTI files, into one :class:`Volume`.

Example:
    >>> from inference.io import list_series, load_volume
    >>> for s in list_series("/data/study"):                 # doctest: +SKIP
    ...     print(s.uid, s.description, s.n_slices)
    >>> vol = load_volume("/data/study", series_uid=s.uid)    # doctest: +SKIP
    >>> [w.message for w in vol.warnings]                     # doctest: +SKIP
"""

from .errors import CTLoadError, LoadWarning
from .loader import LoadCancelled, SeriesInfo, list_series, load_volume
from .volume import Volume

__all__ = [
    "CTLoadError",
    "LoadCancelled",
    "LoadWarning",
    "SeriesInfo",
    "Volume",
    "list_series",
    "load_volume",
]
