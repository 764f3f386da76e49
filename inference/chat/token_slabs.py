"""Which image tokens of a bundle cover which slices: the slabs occlusion removes.

- A slice-set bundle: each sent slice's image is one slab (its image tokens), covering that
  stored slice.
- A native-3D bundle whose 3D tokens keep the depth order of a (depth, rows, columns) grid
  (M3D-LaMed, Med-2E3, ctchat's own: average pooling or a strided convolution over the ViT's
  patch grid, flattened depth first): each depth row of the grid is one slab, covering the
  model slices of that depth. Tokens after the grid (ctchat's location token, a weighted sum
  over every cell) belong to no slab and stay.
- A bundle whose projector mixes tokens across positions (Med3DVLM's MLP-mixer) has no slabs:
  no token belongs to any slice.

The grid comes from the manifest's ``token_layout.grid_3d`` (``[depth, rows, columns]``,
with ``extra_3d`` tokens after it), else from ctchat's own vision config.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Slab:
    """One group of image tokens and the slices they cover.

    Attributes:
        start, end: the tokens' offsets within the image chunk ``[start, end)``.
        model_slices: the model-grid slices covered (3D bundles), or the stored slice (slice sets).
    """

    start: int
    end: int
    model_slices: tuple[int, ...]


def grid_3d(manifest: dict) -> tuple[tuple[int, int, int], int] | None:
    """``((depth, rows, columns), extra tokens after the grid)`` of a 3D bundle, or None when
    its tokens have no grid."""
    layout = manifest.get("token_layout", {})
    if layout.get("grid_3d"):
        d, h, w = (int(x) for x in layout["grid_3d"])
        return (d, h, w), int(layout.get("extra_3d", 0))
    config = manifest.get("vision", {}).get("config", {})
    vit, perceiver = config.get("vit3d"), config.get("perceiver", {})
    if not vit or perceiver.get("kind") not in ("pool_mlp", "conv3d"):
        return None
    k = int(perceiver.get("k", 1))
    d, h, w = (int(s) // int(p) // k for s, p in zip(vit["input_shape"], vit["patch"]))
    return (d, h, w), 1 if perceiver.get("location_codes") else 0


def depth_slabs(manifest: dict, n_tokens_3d: int, n_model_slices: int) -> list[Slab]:
    """The depth rows of a 3D bundle's token grid as slabs (empty: no grid)."""
    found = grid_3d(manifest)
    if found is None:
        return []
    (d, h, w), extra = found
    if d * h * w + extra != n_tokens_3d or n_model_slices % d:
        return []  # a manifest that does not describe its tokens: no slabs rather than wrong ones
    per = n_model_slices // d
    return [Slab(r * h * w, (r + 1) * h * w, tuple(range(r * per, (r + 1) * per))) for r in range(d)]


def spread_to_stored(values: np.ndarray, covered: list[tuple[int, ...]], n_covered_space: int) -> np.ndarray:
    """Each slab's value on every slice it covers, in the space the slabs are counted in
    (model slices for a 3D bundle); slices no slab covers get 0."""
    out = np.zeros(n_covered_space)
    for value, slices in zip(values, covered):
        out[list(slices)] = value
    return out
