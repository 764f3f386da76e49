"""NIfTI-1/2 files (``.nii``, ``.nii.gz``) into a `Volume`, through nibabel."""

from __future__ import annotations

import zlib
from pathlib import Path

import nibabel as nib
import numpy as np

from . import errors as E
from .checks import ensure_memory, finite_voxels, hu_warnings, to_hu_dtype
from .errors import CTLoadError, LoadWarning
from .reorient import RAS_TO_LPS, regular_slice_positions, reorient_to_lps
from .volume import Volume

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_path(path: Path) -> bool:
    """True for file names ending in .nii or .nii.gz."""
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def load_nifti(path: Path) -> Volume:
    """Load a NIfTI CT; the RAS affine is converted to LPS and the axes reordered to LPS.

    Raises:
        CTLoadError: unreadable, truncated, not 3-D, or too large for memory.
    """
    try:
        img = nib.load(str(path))
    except PermissionError as exc:
        raise CTLoadError(f"{path.name}: cannot be read (permission denied)") from exc
    except Exception as exc:  # ImageFileError, gzip errors, header errors
        raise CTLoadError(f"{path.name}: not a readable NIfTI file ({exc})") from exc
    shape = tuple(int(n) for n in img.shape)
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    if len(shape) != 3:
        raise CTLoadError(f"{path.name}: a CT volume has 3 dimensions, this NIfTI has shape {img.shape}")
    if min(shape) == 0:
        raise CTLoadError(f"{path.name}: the NIfTI holds no voxels (shape {' x '.join(map(str, shape))})")
    if sorted(shape)[1] < 2:
        raise CTLoadError(
            f"{path.name}: {' x '.join(map(str, shape))} voxels is a point or a line, not an image"
        )
    ensure_memory(int(np.prod(shape)) * 4, f"{path.name} ({' x '.join(map(str, shape))} voxels)")
    try:
        data = np.asanyarray(img.dataobj).reshape(shape)  # applies scl_slope / scl_inter
    except (EOFError, zlib.error, OSError, ValueError) as exc:
        raise CTLoadError(f"{path.name}: the NIfTI data is truncated or damaged ({exc})") from exc

    affine_ras, warnings = _usable_affine(img, path.name)
    data, repaired = finite_voxels(np.asarray(data))
    warnings += repaired
    voxels, affine, change = reorient_to_lps(to_hu_dtype(data).transpose(2, 1, 0), RAS_TO_LPS @ affine_ras)
    header = img.header
    metadata = {
        "format": "NIfTI",
        "modality": "CT",
        "source_orientation": change.source_codes,
        "nifti_datatype": str(header.get_data_dtype()),
        "description": _header_text(header, "descrip"),
        "qform_code": int(header["qform_code"]),
        "sform_code": int(header["sform_code"]),
    }
    warnings += hu_warnings(voxels)
    return Volume(
        voxels=voxels,
        affine=affine,
        slice_positions=regular_slice_positions(affine, voxels.shape[0]),
        metadata=metadata,
        warnings=warnings,
        source=str(path),
    )


def _usable_affine(img, name: str) -> tuple[np.ndarray, list[LoadWarning]]:
    """The image's RAS affine; when it cannot be inverted (an all-zero sform, zero voxel
    sizes), the qform, then the voxel sizes alone, with a warning saying what was assumed."""
    if _invertible(img.affine):
        return img.affine, []
    header = img.header
    qform, code = header.get_qform(coded=True)
    if code and qform is not None and _invertible(qform):
        why = "its sform cannot be inverted: the qform orientation is used instead"
        return qform, [LoadWarning(E.MISSING_GEOMETRY, f"{name}: {why}")]
    zooms = [z if np.isfinite(z) and z > 0 else 1.0 for z in header.get_zooms()[:3]]
    base = np.diag([-zooms[0], zooms[1], zooms[2], 1.0])  # nibabel's default (radiological) frame
    assumed = "its voxel sizes" if zooms == list(header.get_zooms()[:3]) else "1 mm voxels"
    why = f"its orientation matrix cannot be inverted (all zero?): {assumed} and an axial orientation are assumed"
    return base, [LoadWarning(E.MISSING_GEOMETRY, f"{name}: {why}")]


def _invertible(affine: np.ndarray | None) -> bool:
    if affine is None or not np.all(np.isfinite(affine)):
        return False
    return abs(float(np.linalg.det(affine[:3, :3]))) > 1e-9


def _header_text(header, key: str) -> str:
    try:
        raw = header[key].item()
        return raw.decode("latin-1").strip("\x00 ") if isinstance(raw, bytes) else str(raw)
    except (KeyError, ValueError):
        return ""
