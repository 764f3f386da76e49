"""``ctchat bench io``: our DICOM series reader against SimpleITK's ImageSeriesReader."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np

from inference.io import load_volume
from inference.resources import shared_ct_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench io`` target."""
    p = subparsers.add_parser("io", help="DICOM series load time: ours vs SimpleITK, same run")
    p.add_argument("path", nargs="?", help="DICOM series folder (default: the A0001 chest, 64 x 512 x 512)")
    p.add_argument("--repeats", type=int, default=9, help="timed runs of each reader (default 9)")
    p.set_defaults(func=run)


def _sitk_reader(folder: Path) -> Callable[[], np.ndarray]:
    import SimpleITK as sitk

    def read() -> np.ndarray:
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        return sitk.GetArrayFromImage(reader.Execute())

    return read


def _times(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def run(args: argparse.Namespace) -> int:
    """Time both readers from folder path to voxel array (warm file cache), print medians and ratio."""
    folder = Path(args.path) if args.path else shared_ct_dir() / "dicom" / "chest_lungdx_A0001_5mm"
    try:
        sitk_read = _sitk_reader(folder)
    except ImportError:
        print("ctchat bench io needs SimpleITK (pip install 'ctchat[bench]')")
        return 2
    ours = lambda: load_volume(folder).voxels  # noqa: E731
    same = np.array_equal(ours(), sitk_read())  # also warms the file cache for both
    t_ours, t_sitk = [], []
    for _ in range(args.repeats):  # interleaved so both see the same machine state
        t_ours += _times(ours, 1)
        t_sitk += _times(sitk_read, 1)
    m_ours, m_sitk = statistics.median(t_ours), statistics.median(t_sitk)
    shape = load_volume(folder).shape
    print(f"DICOM series load, {folder.name} ({' x '.join(map(str, shape))}), median of {args.repeats} runs")
    print(f"  {'reader':<28}{'median ms':>10}{'min ms':>10}{'max ms':>10}")
    for name, ts in (("ctchat (pydicom)", t_ours), ("SimpleITK ImageSeriesReader", t_sitk)):
        print(f"  {name:<28}{1000 * statistics.median(ts):>10.1f}{1000 * min(ts):>10.1f}{1000 * max(ts):>10.1f}")
    print(f"  ratio SimpleITK / ctchat: {m_sitk / m_ours:.2f}x ({'ours faster' if m_ours < m_sitk else 'ours slower'})")
    print(f"  identical voxels: {same}")
    return 0
