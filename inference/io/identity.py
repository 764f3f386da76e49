"""A scan's identity: which scan this is, whatever file or folder it was opened from.

"The same scan" to a user is the same voxels at the same place in the patient: a DICOM series
and its NIfTI conversion, or one folder opened from two paths, are one scan; the same path
holding a new file is another. So the identity is a hash of the volume as loaded (shape, affine
and voxels), never of where it came from. It keeps a scan's transcript in the viewer.

Two other hashes name something else and stay separate:

* ``ctchat batch`` names a result row by its input's path (:func:`inference.batch.inputs.scan_id`):
  a rerun must know which rows are done before it reads any scan, and the name must say which
  input line it answers, even for a scan that cannot be read.
* The scan cache keys an entry by the model input under a model
  (:meth:`inference.chat.scan_cache.ScanCache.key`): what it stores is that model's encoding of
  every voxel it received, so another recipe or bundle must miss, and so must any change to
  the voxels (this identity reads only some slices).

Example:
    >>> from inference.io import load_volume, scan_identity
    >>> scan_identity(load_volume("chest/")) == scan_identity(load_volume("chest.nii.gz"))  # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib

import numpy as np

from .volume import Volume

HASHED_SLICES = 16  # slices read, spread over the scan: real scans differ in every slice, and it stays fast


def scan_identity(volume: Volume) -> str:
    """32 hex digits: a hash of the volume's shape, its affine (to 0.1 µm, so that one scan read
    by two loaders is one) and the voxels of :data:`HASHED_SLICES` slices spread over it."""
    voxels = np.asarray(volume.voxels)
    picked = np.ascontiguousarray(voxels[:: max(1, voxels.shape[0] // HASHED_SLICES)])
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(voxels.shape).encode())
    digest.update(np.asarray(volume.affine, dtype=np.float64).round(4).tobytes())
    digest.update(memoryview(picked).cast("B"))
    return digest.hexdigest()
