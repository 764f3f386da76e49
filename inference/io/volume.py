"""`Volume`: one CT scan in Hounsfield units with its geometry in a declared world frame.

Conventions (the same for DICOM and NIfTI input):

* ``voxels`` is indexed ``[k, j, i]`` = (slice, row, column), shape ``(nz, ny, nx)``.
* Loaders reorient losslessly (axis permutations and flips only, never resampling) so that
  column index ``i`` increases toward patient **L**eft, row index ``j`` toward **P**osterior and
  slice index ``k`` toward **S**uperior ("LPS" in nibabel's axis-code convention: each letter
  names the direction an axis increases toward). An axial slice ``voxels[k]`` shown with row 0
  at the top and column 0 at the left is therefore in radiological display (anterior up,
  patient right on screen left).
* ``affine`` maps ``(i, j, k, 1)`` to world coordinates in millimetres in the DICOM patient
  frame, **LPS** (+x = patient left, +y = posterior, +z = superior). NIfTI's RAS is converted
  at load time.
* ``spacing_zyx`` is the voxel size in mm along ``(k, j, i)``; ``slice_positions`` holds each
  slice's position along the unit slice direction (mm).
* A DICOM series with uneven spacing, a gap (missing slices) or gantry tilt is resampled onto a regular grid
  (:mod:`.regular_grid`); ``voxels``/``affine`` are then that grid (what the viewer and the
  model get) and ``original`` keeps the stored slices and their true positions, so per-slice
  results can be mapped back onto the original slices (:meth:`Volume.grid_to_original`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import AS_STORED, GANTRY_TILT, SLICE_GAP, UNEVEN_SPACING, LoadWarning

WORLD_FRAME = "LPS"
MODEL_INPUT_VALUES = "model input (0 to 1)"  # metadata["values"] of an array that is not in HU


@dataclass
class OriginalSlices:
    """The slices as stored, kept when the volume was resampled onto a regular grid.

    Same LPS index order as the grid; ``positions`` are measured along the grid's unit slice
    direction, like ``Volume.slice_positions``, and ascend.
    """

    voxels: np.ndarray  # (n, ny, nx) HU
    positions: np.ndarray  # (n,) mm
    origins: np.ndarray  # (n, 3) LPS mm of each slice's voxel [0, 0] (its ImagePositionPatient)
    affine: np.ndarray  # stored geometry: in-plane columns, and the median step as k column

    def __len__(self) -> int:
        return len(self.positions)


@dataclass
class Volume:
    """A CT volume in HU with geometry, non-identifying display metadata and load warnings.

    Example:
        >>> from inference.io import load_volume
        >>> vol = load_volume("scan.nii.gz")          # doctest: +SKIP
        >>> vol.shape, vol.spacing_zyx, vol.orientation  # doctest: +SKIP
        ((64, 512, 512), (5.0, 0.842, 0.842), 'LPS')
    """

    voxels: np.ndarray
    affine: np.ndarray
    slice_positions: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[LoadWarning] = field(default_factory=list)
    source: str = ""
    original: OriginalSlices | None = None  # the stored slices, when ``voxels`` was resampled

    def __post_init__(self) -> None:
        if self.voxels.ndim != 3:
            raise ValueError(f"voxels must be 3-D (z, y, x), got shape {self.voxels.shape}")
        self.affine = np.asarray(self.affine, dtype=np.float64)
        self.slice_positions = np.asarray(self.slice_positions, dtype=np.float64)
        if self.slice_positions.shape != (self.voxels.shape[0],):
            raise ValueError("slice_positions needs one entry per slice")

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape ``(nz, ny, nx)``."""
        return tuple(int(n) for n in self.voxels.shape)  # type: ignore[return-value]

    @property
    def spacing_zyx(self) -> tuple[float, float, float]:
        """Voxel size in mm along (slice, row, column): lengths of the affine's k, j, i columns."""
        norms = np.linalg.norm(self.affine[:3, :3], axis=0)
        return (float(norms[2]), float(norms[1]), float(norms[0]))

    @property
    def orientation(self) -> str:
        """Axis code of (i, j, k) in the LPS world frame, e.g. ``"LPS"`` (nibabel's convention)."""
        return axis_codes_lps(self.affine)

    @property
    def world_frame(self) -> str:
        """The world frame the affine maps into (always ``"LPS"``)."""
        return WORLD_FRAME

    @property
    def in_hu(self) -> bool:
        """False for a preprocessed model array (values 0 to 1, see :mod:`.model_array`)."""
        return self.metadata.get("values") != MODEL_INPUT_VALUES

    def hu_range(self) -> tuple[float, float]:
        """Minimum and maximum voxel value in HU."""
        return float(self.voxels.min()), float(self.voxels.max())

    def index_to_world(self, k: float, j: float, i: float) -> np.ndarray:
        """World LPS position (mm) of the voxel at array index ``[k, j, i]``."""
        return (self.affine @ np.array([i, j, k, 1.0]))[:3]

    def cropped(self, lo_kji: tuple[int, int, int], hi_kji: tuple[int, int, int]) -> "Volume":
        """The box ``lo_kji <= index < hi_kji`` as a new volume, at the same world position.

        Example:
            >>> part = vol.cropped((10, 0, 0), (40, 256, 256))   # doctest: +SKIP
            >>> np.allclose(part.index_to_world(0, 0, 0), vol.index_to_world(10, 0, 0))  # doctest: +SKIP
            True
        """
        (k0, j0, i0), (k1, j1, i1) = lo_kji, hi_kji
        if not (0 <= k0 < k1 <= self.shape[0] and 0 <= j0 < j1 <= self.shape[1] and 0 <= i0 < i1 <= self.shape[2]):
            raise ValueError(f"crop {lo_kji}..{hi_kji} is empty or outside the volume {self.shape}")
        affine = self.affine.copy()
        affine[:3, 3] = self.index_to_world(k0, j0, i0)
        original = None
        if self.original is not None:  # original slices within the kept slab, not cropped in-plane
            half = 0.5 * self.spacing_zyx[0]
            o = self.original
            keep = (o.positions >= self.slice_positions[k0] - half) & (o.positions <= self.slice_positions[k1 - 1] + half)
            original = OriginalSlices(o.voxels[keep], o.positions[keep], o.origins[keep], o.affine)
        return Volume(self.voxels[k0:k1, j0:j1, i0:i1].copy(), affine, self.slice_positions[k0:k1].copy(),
                      dict(self.metadata), list(self.warnings), self.source, original)

    @property
    def original_positions(self) -> np.ndarray:
        """True positions (mm, along the unit slice direction) of the original slices."""
        return self.slice_positions if self.original is None else self.original.positions

    @property
    def n_original(self) -> int:
        """Number of original (stored) slices."""
        return len(self.original_positions)

    def grid_to_original(self, k: np.ndarray | float) -> np.ndarray:
        """Fractional original slice index of (fractional) slice index ``k`` of ``voxels``.

        Identity when nothing was resampled; linear beyond the ends; NaN stays NaN.
        """
        k = np.asarray(k, dtype=np.float64)
        if self.original is None:
            return k.copy()
        return _interp_linear(_interp_linear(k, np.arange(self.shape[0]), self.slice_positions),
                              self.original.positions, np.arange(len(self.original)))

    def original_to_grid(self, s: np.ndarray | float) -> np.ndarray:
        """Fractional slice index of ``voxels`` of (fractional) original slice index ``s``: the
        inverse of :meth:`grid_to_original` (where the viewer shows a stored slice)."""
        s = np.asarray(s, dtype=np.float64)
        if self.original is None:
            return s.copy()
        return _interp_linear(_interp_linear(s, np.arange(len(self.original)), self.original.positions),
                              self.slice_positions, np.arange(self.shape[0]))

    def as_stored(self) -> "Volume":
        """The slices as the files store them, not resampled (itself when nothing was).

        For a look at the acquisition: the slices are drawn a median step apart and unsheared,
        so distances across slices are only approximate where spacing varies or the gantry
        was tilted (the warning added says so). Slice scores map one to one.
        """
        if self.original is None:
            return self
        o = self.original
        # the grid's warnings say how it was resampled, in its slice numbers: untrue of the stored
        # slices, so the note names what they describe instead
        found = [_AS_FOUND[w.code] for w in self.warnings if w.code in _AS_FOUND]
        why = f" (the files have {' and '.join(dict.fromkeys(found))})" if found else ""
        note = LoadWarning(
            AS_STORED,
            f"shown as stored, not resampled: {len(o)} slices drawn a median "
            f"{np.linalg.norm(o.affine[:3, 2]):.2f} mm apart{why}, so distances across slices are approximate",
        )
        kept = [w for w in self.warnings if w.code not in _AS_FOUND]
        return Volume(o.voxels, o.affine, o.positions, dict(self.metadata), [*kept, note], self.source)


# What each warning of the regular grid describes in the stored slices (Volume.as_stored).
_AS_FOUND = {UNEVEN_SPACING: "uneven slice spacing", SLICE_GAP: "missing slices", GANTRY_TILT: "a gantry tilt"}


def _interp_linear(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp`` that extrapolates linearly from the end segments (one point: slope 1)."""
    x = np.asarray(x, dtype=np.float64)
    if len(xp) == 1:
        return fp[0] + (x - xp[0])
    y = np.interp(x, xp, fp)
    lo, hi = x < xp[0], x > xp[-1]
    y = np.where(lo, fp[0] + (x - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0]), y)
    return np.where(hi, fp[-1] + (x - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2]), y)


def axis_codes_lps(affine: np.ndarray) -> str:
    """Axis codes of an index->LPS affine: the LPS letter each of i, j, k mostly points toward."""
    labels = (("R", "L"), ("A", "P"), ("I", "S"))
    codes = []
    for col in np.asarray(affine)[:3, :3].T:
        axis = int(np.argmax(np.abs(col)))
        codes.append(labels[axis][1 if col[axis] > 0 else 0])
    return "".join(codes)
