"""numpy volume -> vtkImageData, zero copy where possible (the slice views' image and the 3D
view's :class:`~viewer.models.vr_data.VRData`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData

from ..models.vr_data import VRData, safe_spacing


def to_vtk_image(voxels: np.ndarray, spacing_zyx: Sequence[float]) -> vtkImageData:
    """Wrap ``voxels[k, j, i]`` as vtkImageData with x = i, y = j, z = k and origin 0.

    The array is shared, not copied, when it is C-contiguous; the image keeps a reference
    to it so it outlives the caller's.
    """
    arr = np.ascontiguousarray(voxels)
    if arr.dtype not in (np.int16, np.uint8, np.float32, np.int32, np.uint16):
        arr = arr.astype(np.float32)
    nz, ny, nx = arr.shape
    image = vtkImageData()
    image.SetDimensions(nx, ny, nz)
    dz, dy, dx = safe_spacing(spacing_zyx)
    image.SetSpacing(dx, dy, dz)
    image.SetOrigin(0.0, 0.0, 0.0)
    scalars = numpy_to_vtk(arr.reshape(-1), deep=False)
    scalars.SetName("HU")
    image.GetPointData().SetScalars(scalars)
    image._numpy_ref = arr  # keep the buffer alive as long as the image
    return image


def vr_image(vr: VRData) -> vtkImageData:
    """The 3D view's data as vtkImageData at its origin (shares the array)."""
    image = to_vtk_image(vr.voxels, vr.spacing_zyx)
    image.SetOrigin(*vr.origin_xyz)
    return image
