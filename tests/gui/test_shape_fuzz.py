"""Shape fuzz: valid CT volumes of odd shapes, written as NIfTI, through the real viewer.

Each shape is opened by ``ctchat view FILE --screenshot`` in a child process (a VTK segfault
fails its test instead of killing pytest), and in-process, where every view is scrolled, the
bone window preset applied and the 3D view rendered. Shapes the loader refuses (a point or a
line) must be refused with one sentence. Shapes are (nz, ny, nx), as the loaded volume holds them.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from test_odd_images import _ctchat_view_screenshot, check_opens_scrolls_and_windows

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from io_corpus import is_sentence  # noqa: E402

gui = pytest.mark.gui
SPACING_XYZ = (0.7, 0.8, 2.5)  # mm; a little anisotropy, as in real scans


def random_shapes(n: int, seed: int = 20261204, max_voxels: int = 2_000_000) -> list[tuple[int, int, int]]:
    """``n`` shapes with each axis in 1..300, log-uniform (thin axes as likely as thick ones),
    at most ``max_voxels`` so the module stays fast."""
    rng = np.random.default_rng(seed)
    shapes: list[tuple[int, int, int]] = []
    while len(shapes) < n:
        shape = tuple(int(round(np.exp(rng.uniform(0.0, np.log(300))))) for _ in range(3))
        if np.prod(shape) <= max_voxels:
            shapes.append(shape)
    return shapes


FIXED = [(1, 64, 80), (30, 1, 64), (30, 64, 1), (2, 2, 2), (2, 3, 5), (1, 512, 3), (3, 7, 400), (64, 2, 2)]
LINES = [(1, 1, 40), (1, 1, 1), (50, 1, 1)]  # a line or a point: refused by the loader
SHAPES = FIXED + random_shapes(6)


def is_line(shape: tuple[int, int, int]) -> bool:
    """A point or a line (at most one axis longer than 1), which is not an image."""
    return sorted(shape)[1] < 2


def body(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """HU-like int16 voxels: -1000 air round a noisy ~0 HU body, a 40 HU blob and a few
    1000 HU specks (so even a 2 x 2 x 2 volume is not one value)."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape, dtype=np.float32)
    r = np.sqrt(sum(((a - (n - 1) / 2) / max(n / 2, 1)) ** 2 for a, n in zip(grid, shape)))
    hu = np.where(r < 0.9, rng.normal(0.0, 15.0, shape), -1000.0)
    hu[r < 0.35] += 40.0
    specks = tuple(rng.integers(0, n, size=max(2, int(np.prod(shape)) // 5000)) for n in shape)
    hu[specks] = 1000.0
    return hu.astype(np.int16)


def write_nifti(folder: Path, shape: tuple[int, int, int], seed: int = 0) -> Path:
    """``body(shape)`` as ``folder/ct_<shape>.nii.gz``, oriented so it loads as (nz, ny, nx)."""
    import nibabel as nib

    affine = np.diag([-SPACING_XYZ[0], -SPACING_XYZ[1], SPACING_XYZ[2], 1.0])  # RAS: LPS axes
    path = folder / f"ct_{'x'.join(map(str, shape))}.nii.gz"
    nib.save(nib.Nifti1Image(np.transpose(body(shape, seed), (2, 1, 0)), affine), path)
    return path


def shape_id(shape: tuple[int, int, int]) -> str:
    return "x".join(map(str, shape))


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    """Every shape shot by ``ctchat view`` in a child process, two at a time:
    {shape: (completed process, png path)}."""
    folder = tmp_path_factory.mktemp("shape_fuzz")

    def shoot(shape):
        path = write_nifti(folder, shape, seed=sum(shape))
        out = folder / f"{path.name[:-7]}.png"
        return shape, (_ctchat_view_screenshot(path, out), out)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(shoot, SHAPES + LINES[:1]))


@gui
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_ctchat_view_screenshots_an_odd_shape(screenshots, shape):
    from PySide6 import QtGui

    run, out = screenshots[shape]
    if is_line(shape):
        assert run.returncode == 1 and is_sentence(run.stderr), (run.returncode, run.stderr[-2000:])
        return
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])  # negative: killed by a signal
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    image = QtGui.QImage(str(out))
    assert not image.isNull()
    pixels = np.frombuffer(image.convertToFormat(QtGui.QImage.Format.Format_Grayscale8).constBits(), np.uint8)
    assert pixels.std() > 3, "blank screenshot"


@gui
def test_ctchat_view_refuses_a_line_in_one_sentence(screenshots):
    run, out = screenshots[LINES[0]]
    assert run.returncode == 1 and not out.exists()
    assert run.stderr.startswith("ctchat view: could not load ") and is_sentence(run.stderr), run.stderr
    assert "point or a line" in run.stderr


def assert_refused_in_one_sentence(path: Path) -> None:
    """The loader refuses ``path`` (a point or a line) with one sentence."""
    from inference.io.errors import CTLoadError
    from inference.io.nifti import load_nifti

    with pytest.raises(CTLoadError) as err:
        load_nifti(path)
    assert is_sentence(str(err.value)) and "point or a line" in str(err.value), str(err.value)


@pytest.mark.parametrize("shape", LINES, ids=shape_id)
def test_the_loader_refuses_points_and_lines_in_one_sentence(tmp_path, shape):
    assert_refused_in_one_sentence(write_nifti(tmp_path, shape))


@gui
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_odd_shape_scrolls_windows_and_renders_in_process(window, qtbot, tmp_path, shape):
    from inference.io.nifti import load_nifti

    path = write_nifti(tmp_path, shape, seed=sum(shape))
    if is_line(shape):  # a random shape can be a line: nothing to show
        assert_refused_in_one_sentence(path)
        return
    vol = load_nifti(path)
    assert vol.voxels.shape == shape
    check_opens_scrolls_and_windows(window, qtbot, vol)
