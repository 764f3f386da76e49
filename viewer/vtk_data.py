"""numpy volume -> vtkImageData (zero copy where possible) and the 3D view's downsampling."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData


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
    dz, dy, dx = (float(s) for s in spacing_zyx)
    image.SetSpacing(dx, dy, dz)
    image.SetOrigin(0.0, 0.0, 0.0)
    scalars = numpy_to_vtk(arr.reshape(-1), deep=False)
    scalars.SetName("HU")
    image.GetPointData().SetScalars(scalars)
    image._numpy_ref = arr  # keep the buffer alive as long as the image
    return image


def downsample_factors(shape_zyx: Sequence[int], max_voxels: int) -> tuple[int, int, int]:
    """Integer strides (z, y, x) so the volume fits ``max_voxels``; in-plane axes are reduced first
    because CT slices are usually much finer than the slice spacing."""
    fz = fy = fx = 1
    nz, ny, nx = shape_zyx
    while (nz // fz) * (ny // fy) * (nx // fx) > max_voxels:
        if ny / fy >= 2 * nz / fz or nx / fx >= 2 * nz / fz:
            fy, fx = fy * 2, fx * 2
        else:
            fz, fy, fx = fz * 2, fy * 2, fx * 2
    return fz, fy, fx


def downsample(voxels: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Block-mean downsampling by integer factors (z, y, x); output float32 HU, C-contiguous."""
    fz, fy, fx = factors
    if (fz, fy, fx) == (1, 1, 1):
        return np.ascontiguousarray(voxels, dtype=np.float32)
    nz, ny, nx = (s - s % f for s, f in zip(voxels.shape, factors))
    v = voxels[:nz, :ny, :nx].astype(np.float32)
    v = v.reshape(nz // fz, fz, ny // fy, fy, nx // fx, fx).mean(axis=(1, 3, 5))
    return np.ascontiguousarray(v, dtype=np.float32)


class VRData:
    """The 3D view's copy of a scan: block-averaged to fit a voxel budget, with its geometry."""

    def __init__(self, voxels: np.ndarray, spacing_zyx: Sequence[float], max_voxels: int) -> None:
        self.full_shape = tuple(int(n) for n in voxels.shape)
        self.factors = downsample_factors(voxels.shape, max_voxels)
        self.voxels = downsample(voxels, self.factors)
        self.spacing_zyx = tuple(float(s) * f for s, f in zip(spacing_zyx, self.factors))
        # A block mean sits half a (coarse - fine) voxel in from the first fine voxel.
        fine_xyz = np.array(spacing_zyx[::-1], dtype=float)
        self.origin_xyz = tuple((np.array(self.factors[::-1]) - 1) * fine_xyz / 2.0)

    @property
    def downsampled(self) -> bool:
        """True when the 3D view shows fewer voxels than the scan has."""
        return self.factors != (1, 1, 1)

    def to_vtk(self) -> vtkImageData:
        """The data as vtkImageData (shares the array)."""
        image = to_vtk_image(self.voxels, self.spacing_zyx)
        image.SetOrigin(*self.origin_xyz)
        return image
