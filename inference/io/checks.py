"""Plausibility checks on a loaded volume and on the memory a load will need."""

from __future__ import annotations

import numpy as np

from . import errors as E
from .errors import CTLoadError, LoadWarning

# Values outside this range are not produced by CT scanners, even with extended HU scales.
HU_HARD_MIN, HU_HARD_MAX = -4000.0, 40000.0
# Any CT that contains air reaches about -1000 HU; a minimum above this means no air at all.
HU_AIR_CEILING = -100.0
MEMORY_HEADROOM = 2.5  # the load plus preprocessing copies must fit


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (or a large number where that is not available)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


def ensure_memory(n_bytes: int, what: str) -> None:
    """Raise a clear error before allocating a volume that cannot fit in memory."""
    available = available_memory_bytes()
    if n_bytes * MEMORY_HEADROOM > available:
        raise CTLoadError(
            f"{what} needs {n_bytes / 2**30:.1f} GiB ({MEMORY_HEADROOM:g}x that while loading and "
            f"preparing it) but only {available / 2**30:.1f} GiB of memory is available"
        )


def finite_voxels(voxels: np.ndarray) -> tuple[np.ndarray, list[LoadWarning]]:
    """Voxels with NaN/Inf replaced by the lowest finite value, and a warning saying so.

    Raises:
        CTLoadError: no voxel holds a finite number.
    """
    if not np.issubdtype(voxels.dtype, np.floating):
        return voxels, []
    bad = ~np.isfinite(voxels)
    n_bad = int(np.count_nonzero(bad))
    if n_bad == 0:
        return voxels, []
    if n_bad == voxels.size:
        raise CTLoadError("no voxel of this image holds a number (all are NaN or infinite)")
    fill = float(voxels[~bad].min())
    voxels = voxels.copy()
    voxels[bad] = fill
    share = 100.0 * n_bad / voxels.size
    return voxels, [
        LoadWarning(
            E.NON_FINITE,
            f"{n_bad} voxel(s) ({share:.2g} %) were NaN or infinite and were set to the lowest "
            f"value in the image ({fill:.0f}); the image may be damaged",
        )
    ]


def hu_warnings(voxels: np.ndarray, padding_hu: float | None = None) -> list[LoadWarning]:
    """Warn about values that cannot be Hounsfield units of a CT (e.g. a missing rescale)."""
    values = voxels if voxels.size <= 4_000_000 else voxels[:, ::4, ::4]
    if padding_hu is not None:
        values = values[values != padding_hu]
    if values.size == 0:
        return [LoadWarning(E.IMPLAUSIBLE_HU, "every voxel holds the padding value: the image is empty")]
    lo, hi = float(values.min()), float(values.max())
    found: list[LoadWarning] = []
    if lo < HU_HARD_MIN or hi > HU_HARD_MAX:
        found.append(
            LoadWarning(
                E.IMPLAUSIBLE_HU,
                f"values from {lo:.0f} to {hi:.0f} are outside any CT Hounsfield scale: "
                "the rescale slope/intercept may be wrong or the image is not a CT",
            )
        )
    elif lo > HU_AIR_CEILING:
        found.append(
            LoadWarning(
                E.IMPLAUSIBLE_HU,
                f"the darkest voxel is {lo:.0f} HU, but air is about -1000 HU: the rescale "
                "intercept may be missing, or the image holds no air at all",
            )
        )
    elif hi - lo < 50:
        found.append(LoadWarning(E.IMPLAUSIBLE_HU, f"nearly uniform image ({lo:.0f} to {hi:.0f} HU)"))
    return found


def to_hu_dtype(values: np.ndarray) -> np.ndarray:
    """Keep HU as int16 when the values are whole numbers that fit, else float32."""
    if values.dtype == np.int16:
        return values
    if np.issubdtype(values.dtype, np.integer) or np.all(np.mod(values, 1) == 0):
        lo, hi = (values.min(), values.max()) if values.size else (0, 0)
        if lo >= np.iinfo(np.int16).min and hi <= np.iinfo(np.int16).max:
            return values.astype(np.int16)
    return values.astype(np.float32)
