"""Preprocessed model arrays (``.npy``), as M3D-Cap and M3D-VQA ship their images.

Those datasets hold no CT: each image is an array ``(1, 32, 256, 256)`` (or ``(32, 256, 256)``)
of float values in [0, 1], made from pre-windowed slices, with no Hounsfield units, spacing or
orientation. Such an array is loaded as a :class:`~.volume.Volume` whose values are the model's
input scale, not HU (``Volume.in_hu`` is False): preprocessing then only puts it on the
bundle's grid (as M3D's own evaluation feeds it as stored when the grid already matches), and
the load warning says what is unknown. Nothing is converted to "HU" that never was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import errors as E
from .checks import ensure_memory
from .errors import CTLoadError, LoadWarning
from .volume import MODEL_INPUT_VALUES, Volume

MODEL_ARRAY_SUFFIXES = (".npy",)
RANGE_SLACK = 1e-3  # rounding in the datasets' own preprocessing


def is_model_array_path(path: Path) -> bool:
    """True for file names ending in .npy."""
    return path.name.lower().endswith(MODEL_ARRAY_SUFFIXES)


def load_model_array(path: Path) -> Volume:
    """Load a preprocessed ``.npy`` image (values in [0, 1]) as a volume in model units.

    Raises:
        CTLoadError: unreadable, not 3-D after dropping leading 1-sized axes, not finite, or
            values outside [0, 1] (then it is not a preprocessed model array).
    """
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except PermissionError as exc:
        raise CTLoadError(f"{path.name}: cannot be read (permission denied)") from exc
    except (OSError, ValueError, EOFError) as exc:
        raise CTLoadError(f"{path.name}: not a readable NumPy array file ({exc})") from exc
    shape = tuple(int(n) for n in array.shape)
    while len(shape) > 3 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) != 3 or min(shape) == 0:
        raise CTLoadError(f"{path.name}: a preprocessed image has 3 dimensions (slices, rows, columns), "
                          f"this array has shape {tuple(array.shape)}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise CTLoadError(f"{path.name}: the array holds {array.dtype} values, not image intensities")
    ensure_memory(int(np.prod(shape)) * 4, f"{path.name} ({' x '.join(map(str, shape))} values)")
    try:
        voxels = np.array(array.reshape(shape), dtype=np.float32)  # a copy: the file is mapped read-only
    except ValueError as exc:  # a truncated file maps fewer bytes than its header says
        raise CTLoadError(f"{path.name}: the array data is truncated or damaged ({exc})") from exc
    if not np.isfinite(voxels).all():
        raise CTLoadError(f"{path.name}: the array holds NaN or infinite values")
    lo, hi = float(voxels.min()), float(voxels.max())
    if lo < -RANGE_SLACK or hi > 1 + RANGE_SLACK:
        raise CTLoadError(f"{path.name}: values from {lo:.4g} to {hi:.4g}; a preprocessed model array "
                          "(M3D-Cap, M3D-VQA) holds values from 0 to 1, and a CT belongs in DICOM or NIfTI")
    np.clip(voxels, 0.0, 1.0, out=voxels)
    nz = shape[0]
    warning = LoadWarning(
        E.MODEL_ARRAY,
        f"{path.name} is a preprocessed model array (values 0 to 1, not Hounsfield units; spacing and "
        "orientation unknown, 1 mm voxels assumed): it goes to the model as stored, put on the model's "
        "grid, and distances measured on it are not millimetres",
    )
    return Volume(
        voxels=voxels,
        affine=np.eye(4),
        slice_positions=np.arange(nz, dtype=np.float64),
        metadata={"format": "NumPy model array", "values": MODEL_INPUT_VALUES,
                  "array_shape": list(array.shape), "array_dtype": str(array.dtype)},
        warnings=[warning],
        source=str(path),
    )
