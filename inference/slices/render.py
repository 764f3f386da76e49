"""A scan -> the slices a slice-set model is given (:class:`~.recipe.RenderedSlices`).

The stored slices are used as the files hold them (a scan resampled onto a regular grid for
display is taken from its stored slices, :meth:`Volume.as_stored`), so the slice numbers a
model is given are the stored slice numbers every other part of ctchat counts from 1.
"""

from __future__ import annotations

from ..io.volume import Volume
from .recipe import RenderedSlices, SliceRecipe, SliceRecipeError

AXIAL_AXES = "SI"  # the stored slices stack along the body's long axis


def acquisition_axis(volume: Volume) -> str:
    """The patient axis the stored slices stack along (``"S"``/``"I"`` for axial), from the
    loader's record of the source orientation; the volume's own when it has none."""
    codes = str(volume.metadata.get("source_orientation") or volume.orientation)
    return codes[2] if len(codes) == 3 else ""


def render_scan(volume: Volume, recipe: SliceRecipe, slices: int | None = None) -> RenderedSlices:
    """Sample and render the scan's stored axial slices by ``recipe``.

    Args:
        slices: the user's slice budget (``--slices``); None: the recipe's.

    Raises:
        SliceRecipeError: the scan is not in HU, was not acquired axially, or has fewer slices
            than the recipe accepts (one sentence each).
    """
    if not volume.in_hu:
        raise SliceRecipeError("this array is a model input (values 0 to 1), not a CT in HU: "
                               "a slice-set model is given slices rendered from HU")
    axis = acquisition_axis(volume)
    if axis not in AXIAL_AXES:
        plane = {"L": "sagittal", "R": "sagittal", "A": "coronal", "P": "coronal"}.get(axis, "non-axial")
        raise SliceRecipeError(f"this series was acquired {plane}; the model was trained on axial CT slices "
                               "and ctchat does not reformat a series for it: open an axial series")
    stored = volume.as_stored()
    picked = recipe.sample(stored.shape[0], slices)
    images = [recipe.render(stored.voxels[k]) for k in picked]
    labels = [recipe.label_for(n + 1, len(picked)) for n in range(len(picked))]
    return RenderedSlices(images, picked, stored.shape[0], labels)
