"""Model preprocessing as declared recipes, with the map from model slices back to the scan.

Separate from the display window/level: this is what the model sees. A recipe clips HU to a
window, puts the scan on the model's grid (resampling to a target spacing and centre
cropping/padding, as E3D-GPT does, or cropping to the body and resizing the whole scan onto
the grid, as M3D and Med-2E3 do), and scales to the model's range.

Interpolation is linear and separable (in-plane first, then along z). Along z it uses each
slice's true position, so a scan with a gap or uneven spacing is resampled where its slices
really are. Every model slice's position is kept in :class:`SliceMap`, so scores computed on
model slices (TG-IS) can be drawn on the original slices.

Example:
    >>> from inference.io import load_volume
    >>> vol = load_volume("chest/")                    # doctest: +SKIP
    >>> mi = preprocess(vol, RECIPES["m3d"])           # doctest: +SKIP
    >>> mi.array.shape                                 # doctest: +SKIP
    (1, 1, 32, 256, 256)
    >>> mi.slice_map.to_original(scores)               # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .io.volume import Volume


@dataclass(frozen=True)
class PreprocessRecipe:
    """How a model wants its input; stored in each model bundle's manifest.

    Attributes:
        name: identifier, e.g. ``"m3d"``.
        hu_window: HU range kept; values outside are clipped.
        target_shape_zyx: the model grid (D, H, W).
        target_spacing_zyx: when set, resample to this spacing (mm) and centre crop/pad to the
            grid (E3D-GPT); when None, resize the (cropped) scan onto the grid (M3D).
        crop_foreground: crop to the bounding box of voxels above ``foreground_hu`` first.
        foreground_hu: body threshold for the foreground crop.
        output_range: the window's low and high ends map to these values.
    """

    name: str
    hu_window: tuple[float, float]
    target_shape_zyx: tuple[int, int, int]
    target_spacing_zyx: tuple[float, float, float] | None = None
    crop_foreground: bool = False
    foreground_hu: float = -500.0
    output_range: tuple[float, float] = (0.0, 1.0)

    def to_dict(self) -> dict:
        """JSON-ready form (for a bundle manifest)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PreprocessRecipe":
        """Inverse of :meth:`to_dict`."""
        fields = dict(data)
        for key in ("hu_window", "target_shape_zyx", "target_spacing_zyx", "output_range"):
            if fields.get(key) is not None:
                fields[key] = tuple(fields[key])
        return cls(**fields)


RECIPES: dict[str, PreprocessRecipe] = {
    # E3D-GPT: 1.5 x 1.5 x 3 mm (x, y, z), centre crop to 224 x 224 x 112, HU [-1000, 1000].
    "e3d_gpt": PreprocessRecipe(
        name="e3d_gpt",
        hu_window=(-1000.0, 1000.0),
        target_shape_zyx=(112, 224, 224),
        target_spacing_zyx=(3.0, 1.5, 1.5),
    ),
    # M3D / Med-2E3: crop to the body, resize to 32 x 256 x 256, values in [0, 1].
    "m3d": PreprocessRecipe(
        name="m3d",
        hu_window=(-1000.0, 1000.0),
        target_shape_zyx=(32, 256, 256),
        crop_foreground=True,
    ),
}


@dataclass(frozen=True)
class SliceMap:
    """Where each model slice lies in the original scan, and back.

    ``model_to_original[j]`` is the fractional original slice index at the centre of model
    slice ``j`` (NaN for a slice that is padding); ``original_to_model[k]`` is the fractional
    model slice index of original slice ``k`` (NaN when ``k`` was cropped away).
    """

    model_to_original: np.ndarray
    original_to_model: np.ndarray

    @property
    def n_model(self) -> int:
        """Number of model slices."""
        return len(self.model_to_original)

    @property
    def n_original(self) -> int:
        """Number of original slices."""
        return len(self.original_to_model)

    def to_original(self, model_values: np.ndarray) -> np.ndarray:
        """Per-model-slice values (e.g. TG-IS scores) interpolated onto the original slices.

        Original slices outside the model's field of view get 0.
        """
        values = np.asarray(model_values, dtype=np.float64)
        if values.shape != (self.n_model,):
            raise ValueError(f"expected {self.n_model} model-slice values, got shape {values.shape}")
        out = np.zeros(self.n_original)
        inside = ~np.isnan(self.original_to_model)
        out[inside] = np.interp(self.original_to_model[inside], np.arange(self.n_model), values)
        return out


@dataclass
class ModelInput:
    """The array a model receives, ``(1, 1, D, H, W)`` float32, with how it was made."""

    array: np.ndarray
    recipe: PreprocessRecipe
    slice_map: SliceMap
    crop_box_zyx: tuple[tuple[int, int], ...] = field(default=())
    # the (fractional) index in the original volume that each model sample was taken at, per
    # axis (z, y, x): maps ground truth drawn in the scan (a lesion) onto the model's grid
    sample_index_zyx: tuple[np.ndarray, ...] = field(default=())


def preprocess(volume: Volume, recipe: PreprocessRecipe) -> ModelInput:
    """Turn a loaded CT into a model input following ``recipe``.

    A preprocessed model array (values 0 to 1, no HU, no spacing: ``volume.in_hu`` False) was
    windowed and cropped by its dataset already: it is only resized onto the grid and scaled to
    the recipe's output range.
    """
    lo, hi = recipe.hu_window if volume.in_hu else (0.0, 1.0)
    voxels = volume.voxels
    box = _foreground_box(voxels, recipe.foreground_hu) if recipe.crop_foreground and volume.in_hu else [
        (0, n) for n in voxels.shape
    ]
    # float32 first, clipped in place: np.clip of int16 voxels with float bounds would make a
    # float64 copy four times the scan's size
    data = voxels[box[0][0]:box[0][1], box[1][0]:box[1][1], box[2][0]:box[2][1]].astype(np.float32)
    np.clip(data, lo, hi, out=data)
    positions = volume.slice_positions[box[0][0]:box[0][1]]
    dz, dy, dx = volume.spacing_zyx
    D, H, W = recipe.target_shape_zyx

    if recipe.target_spacing_zyx is not None and volume.in_hu:  # an array's spacing is unknown
        tz, ty, tx = recipe.target_spacing_zyx
        src_y = _centred_samples(data.shape[1], dy, H, ty)
        src_x = _centred_samples(data.shape[2], dx, W, tx)
        centre = 0.5 * (positions[0] + positions[-1])
        z_out = centre + (np.arange(D) - (D - 1) / 2) * tz
        src_z = _positions_to_index(z_out, positions, dz)
    else:
        src_y = _resize_samples(data.shape[1], H)
        src_x = _resize_samples(data.shape[2], W)
        half = 0.5 * dz
        z_lo, z_hi = positions[0] - half, positions[-1] + half
        z_out = z_lo + (np.arange(D) + 0.5) * (z_hi - z_lo) / D
        src_z = _positions_to_index(z_out, positions, dz)

    out = _resample_axis(data, src_x, axis=2, pad=lo)
    out = _resample_axis(out, src_y, axis=1, pad=lo)
    out = _resample_axis(out, src_z, axis=0, pad=lo)
    a, b = recipe.output_range
    out = (out - lo) * np.float32((b - a) / (hi - lo)) + np.float32(a)
    np.clip(out, min(a, b), max(a, b), out=out)  # rounding must not leave the declared range

    # the map goes to the stored slices: a resampled volume (uneven spacing, tilt) maps through its grid
    slice_map = SliceMap(volume.grid_to_original(src_z + box[0][0]), _original_to_model(volume.original_positions, z_out))
    samples = tuple(src + b[0] for src, b in zip((src_z, src_y, src_x), box))
    return ModelInput(out[np.newaxis, np.newaxis].astype(np.float32), recipe, slice_map, tuple(box), samples)


def _foreground_box(voxels: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Bounding box (start, stop) per axis of voxels above ``threshold``; whole volume if none."""
    mask = voxels > threshold
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hits = np.flatnonzero(mask.any(axis=other))
        box.append((int(hits[0]), int(hits[-1]) + 1) if hits.size else (0, voxels.shape[axis]))
    return box


def _centred_samples(n_in: int, spacing_in: float, n_out: int, spacing_out: float) -> np.ndarray:
    """Source indices of ``n_out`` samples ``spacing_out`` apart, centred on the input's centre."""
    centre = (n_in - 1) / 2
    return centre + (np.arange(n_out) - (n_out - 1) / 2) * (spacing_out / spacing_in)


def _resize_samples(n_in: int, n_out: int) -> np.ndarray:
    """Source indices of a resize with pixel-centre alignment (``align_corners=False``)."""
    return (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5


def _positions_to_index(z: np.ndarray, positions: np.ndarray, spacing: float) -> np.ndarray:
    """Fractional slice index of each position, from the slices' true positions (uneven ok).

    Positions more than half a slice beyond the first or last slice are outside (NaN).
    """
    if len(positions) == 1:
        idx = (z - positions[0]) / spacing
    else:
        idx = np.interp(z, positions, np.arange(len(positions)))
        below, above = z < positions[0], z > positions[-1]
        idx[below] = (z[below] - positions[0]) / spacing
        idx[above] = len(positions) - 1 + (z[above] - positions[-1]) / spacing
    idx[(idx < -0.5) | (idx > len(positions) - 0.5)] = np.nan
    return idx


def _resample_axis(a: np.ndarray, src: np.ndarray, axis: int, pad: float) -> np.ndarray:
    """Linear interpolation of ``a`` at fractional indices ``src`` along ``axis``.

    Samples within half a voxel of the edge take the edge voxel; samples further out (or NaN)
    take ``pad``.
    """
    n = a.shape[axis]
    src = np.asarray(src, dtype=np.float64)
    outside = np.isnan(src) | (src < -0.5) | (src > n - 0.5)
    s = np.clip(np.nan_to_num(src, nan=0.0), 0, n - 1)
    i0 = np.floor(s).astype(np.intp)
    i1 = np.minimum(i0 + 1, n - 1)
    shape = [1, 1, 1]
    shape[axis] = len(s)
    w = (s - i0).astype(np.float32).reshape(shape)
    out = np.take(a, i0, axis=axis)
    out *= 1 - w  # in place: the same products and sum as a0 * (1 - w) + a1 * w, two arrays fewer
    upper = np.take(a, i1, axis=axis)
    upper *= w
    out += upper
    if outside.any():
        index = [slice(None)] * 3
        index[axis] = outside
        out[tuple(index)] = pad
    return out


def _original_to_model(all_positions: np.ndarray, z_out: np.ndarray) -> np.ndarray:
    """Fractional model slice index of each original slice (NaN outside the model's slab)."""
    D = len(z_out)
    step = (z_out[-1] - z_out[0]) / (D - 1) if D > 1 else 1.0
    j = (all_positions - z_out[0]) / step
    j[(j < -0.5) | (j > D - 0.5)] = np.nan
    return j
