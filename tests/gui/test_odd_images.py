"""Valid but unusual images must never crash the viewer: a single slice, non-square slices,
one-voxel axes, two slices, very anisotropic spacing.

Before the fix, a single 256 x 512 DICOM slice segfaulted ``ctchat view`` in VTK's CPU ray
caster (the 3D view) on the UI thread: ray casting interpolates between neighbouring slices
and reads past the buffer when there is only one.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gui_helpers import DATA, need, wheel

gui = pytest.mark.gui
SMALL_DICOM = DATA / "tiny" / "pydicom_CT_small.dcm"

# (shape (nz, ny, nx), spacing (dz, dy, dx) in mm)
ODD = {
    "single_256x512": ((1, 256, 512), (5.0, 0.66, 0.66)),
    "single_512x256": ((1, 512, 256), (5.0, 0.66, 0.66)),
    "line_1x1xN": ((1, 1, 40), (1.0, 1.0, 1.0)),
    "plane_Nx1xM": ((30, 1, 64), (1.0, 1.0, 1.0)),
    "plane_NxMx1": ((30, 64, 1), (1.0, 1.0, 1.0)),
    "one_voxel": ((1, 1, 1), (1.0, 1.0, 1.0)),
    "two_slices": ((2, 64, 96), (5.0, 0.7, 0.7)),
    "thick_slices": ((40, 64, 64), (50.0, 0.3, 0.3)),
    "thin_slices": ((20, 48, 48), (0.01, 2.0, 2.0)),
}


def odd_volume(shape: tuple[int, int, int], spacing_zyx: tuple[float, float, float]):
    """An LPS volume: a 700 HU ball in -1000 HU air with a column ramp (so every view has contrast)."""
    from inference.io.volume import Volume

    k, j, i = np.indices(shape, dtype=np.float32)
    centre = [(n - 1) / 2 for n in shape]
    r = np.sqrt(sum(((a - c) / max(n / 2, 1)) ** 2 for a, c, n in zip((k, j, i), centre, shape)))
    vox = np.where(r < 0.7, 700.0, -1000.0) + 10.0 * (i % 20) + 5.0 * (k % 4)
    affine = np.diag([spacing_zyx[2], spacing_zyx[1], spacing_zyx[0], 1.0])
    return Volume(vox.astype(np.int16), affine, np.arange(shape[0]) * spacing_zyx[0],
                  metadata={"format": "synthetic"}, source="synthetic")


def show(win, vol) -> None:
    """Put ``vol`` in the main window as a finished load would."""
    from viewer.models.reading import LoadedScan
    from viewer.models.window_level import default_window

    win.volume_view.ensure_mapper()
    win.show_scan(LoadedScan(vol, f"{vol.source}.nii.gz", default_window(vol.voxels, vol.metadata), None))


def shows_something(view) -> bool:
    """The view draws an image with contrast, or says in one line why it cannot."""
    if view.message.GetVisibility():
        return bool(view.message.GetInput())
    return view.canvas.to_array().std() > 3


@gui
@pytest.mark.parametrize("name", list(ODD))
def test_odd_volume_opens_scrolls_and_windows(window, qtbot, name):
    check_opens_scrolls_and_windows(window, qtbot, odd_volume(*ODD[name]))


def check_opens_scrolls_and_windows(window, qtbot, vol) -> None:
    """Show ``vol``; every view draws it or says why not, scrolls and takes the bone preset
    (also used by test_shape_fuzz.py)."""
    shape = vol.voxels.shape
    show(window, vol)
    qtbot.wait(50)  # the 3D view's deferred first render
    for v in window.slice_views:
        assert v.n_slices == shape[v.plane.array_axis]
        assert shows_something(v), v.plane.name
        thin = [a for a in (v.plane.right[0], v.plane.up[0]) if shape[::-1][a] == 1]
        assert bool(v.message.GetVisibility()) == bool(thin), v.plane.name
    vr = window.volume_view
    needs_3d_message = min(shape) < 2
    assert bool(vr.message.GetVisibility()) == needs_3d_message
    assert vr.renderer.GetVolumes().GetNumberOfItems() == (0 if needs_3d_message else 1)
    if needs_3d_message:
        assert vr.message.GetInput().startswith("3D rendering needs at least 2")
    vr.canvas.to_array()  # renders the 3D view (the crash site before the fix)

    for v in window.slice_views:  # a slice scroll, back and forth
        start = v.slice_index
        wheel(v.canvas, +1)
        assert v.slice_index == min(start + 1, v.n_slices - 1)
        wheel(v.canvas, -1)
        wheel(v.canvas, -1)
        assert 0 <= v.slice_index < v.n_slices
        assert shows_something(v)
    before = {v.window() for v in window.slice_views}
    qtbot.keyClick(window.axial.canvas, "5")  # window/level preset: bone
    assert {v.window() for v in window.slice_views} == {(2500, 480)} != before
    window.render_all()
    for v in (*window.slice_views, vr):
        v.canvas.to_array()


@gui
def test_a_normal_scan_after_a_single_slice_renders_in_3d(window, qtbot):
    show(window, odd_volume((1, 64, 128), (5.0, 0.7, 0.7)))
    assert window.volume_view.message.GetVisibility()
    show(window, odd_volume((16, 64, 64), (2.0, 1.0, 1.0)))
    qtbot.wait(50)
    vr = window.volume_view
    assert not vr.message.GetVisibility() and vr.renderer.GetVolumes().GetNumberOfItems() == 1
    assert vr.canvas.to_array().std() > 3  # the ball is drawn
    assert not any(v.message.GetVisibility() for v in window.slice_views)


def _write_single_slice(src: Path, out: Path, rows: int, cols: int) -> Path:
    """A copy of a real CT slice with ``rows x cols`` pixels (a ball plus a ramp)."""
    import pydicom

    ds = pydicom.dcmread(src)
    dtype = ds.pixel_array.dtype
    yy, xx = np.mgrid[0:rows, 0:cols]
    img = (np.hypot(yy - rows / 2, xx - cols / 2) < min(rows, cols) * 0.4) * 1000 + xx % 64
    ds.Rows, ds.Columns = rows, cols
    ds.PixelData = img.astype(dtype).tobytes()
    ds.save_as(out)
    return out


def _ctchat_view_screenshot(path: Path, out: Path) -> subprocess.CompletedProcess:
    """``ctchat view PATH --screenshot OUT`` in a child process (a segfault cannot kill pytest)."""
    exe = Path(sys.executable).with_name("ctchat")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "inference.cli"]
    return subprocess.run([*cmd, "view", str(path), "--screenshot", str(out), "--size", "1000x700"],
                          capture_output=True, text=True, timeout=240, env=dict(os.environ))


@gui
@pytest.mark.parametrize("rows, cols", [(256, 512), (512, 256)])
def test_cli_screenshot_of_a_non_square_single_slice(tmp_path, rows, cols):
    from PySide6 import QtGui

    dcm = _write_single_slice(need(SMALL_DICOM), tmp_path / f"slice_{rows}x{cols}.dcm", rows, cols)
    out = tmp_path / "shot.png"
    run = _ctchat_view_screenshot(dcm, out)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])  # was -11 (SIGSEGV)
    assert out.is_file() and not QtGui.QImage(str(out)).isNull()
    assert "Traceback" not in run.stderr


@gui
def test_cli_screenshot_of_a_one_row_volume(tmp_path):
    import nibabel as nib

    vox = odd_volume((30, 1, 64), (1.0, 1.0, 1.0)).voxels
    path = tmp_path / "one_row.nii.gz"
    nib.save(nib.Nifti1Image(np.transpose(vox, (2, 1, 0)), np.diag([-1.0, -1.0, 1.0, 1.0])), path)
    out = tmp_path / "shot.png"
    run = _ctchat_view_screenshot(path, out)
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert out.is_file()


def test_3d_data_never_has_a_one_voxel_axis():
    from viewer.models.vr_data import VRData, downsample_factors, volume_render_problem

    assert volume_render_problem((1, 512, 512)) == "3D rendering needs at least 2 slices"
    assert volume_render_problem((30, 1, 64)) and volume_render_problem((30, 64, 1))
    assert volume_render_problem((2, 2, 2)) is None
    assert downsample_factors((64, 512, 512), 256 * 256 * 64) == (1, 2, 2)  # unchanged behaviour
    for shape in [(2, 4096, 4096), (1000, 2, 5000), (3, 3, 100000), (2, 2, 2)]:
        f = downsample_factors(shape, 1000)
        assert all(n // s >= 2 for n, s in zip(shape, f)), (shape, f)
    ramp = np.broadcast_to(np.arange(3000, dtype=np.int16), (4, 2, 3000))
    vr = VRData(ramp, (1.0, 1.0, 1.0), 1000)
    assert vr.problem is None and min(vr.voxels.shape) >= 2


def test_3d_data_of_one_value_is_not_ray_cast():
    # VTK's fixed-point ray caster divides by (max - min): a blank scan segfaulted the viewer
    from viewer.models.vr_data import VRData

    assert "same value" in VRData(np.full((3, 64, 64), -1024, np.int16), (8.0, 0.6, 0.6), 10**6).problem
    almost = np.full((3, 64, 64), -1024, np.int16)
    almost[1, 5, 5] = 0
    assert VRData(almost, (8.0, 0.6, 0.6), 10**6).problem is None


@gui
def test_a_blank_scan_shows_why_the_3d_view_is_empty(window, qtbot):
    vol = odd_volume((3, 64, 64), (8.0, 0.6, 0.6))
    vol.voxels[:] = -1024
    for _ in range(3):  # the crash was intermittent
        show(window, vol)
        qtbot.wait(50)
        assert window.volume_view.message.GetVisibility()
        assert window.volume_view.renderer.GetVolumes().GetNumberOfItems() == 0


def test_vtk_messages_go_to_the_logger(caplog):
    from vtkmodules.vtkCommonCore import vtkOutputWindow
    from vtkmodules.vtkIOImage import vtkPNGReader

    import viewer.views.vtk_canvas  # noqa: F401 (routes VTK's output)

    assert vtkOutputWindow.GetInstance().GetDisplayMode() == vtkOutputWindow.NEVER
    reader = vtkPNGReader()
    reader.SetFileName("/nonexistent/ctchat.png")
    with caplog.at_level(logging.WARNING, logger="viewer.vtk"):
        reader.Update()
    assert any("Unable to open" in r.getMessage() for r in caplog.records if r.name == "viewer.vtk")
