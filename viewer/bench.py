"""``ctchat bench viewer``: one slice step against one volume-rendering frame, 3D view open.

A slice step is one mouse-wheel notch on the axial view, delivered as a real Qt wheel event;
it returns when the axial view has rendered its new slice. The coronal and sagittal views
re-render their moved crosshair when the event loop is next idle: timed separately. The 3D view must not render during steps (its render count is checked).
A VR frame is one full-quality render of the 3D view after a 2 degree turn.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

TARGET_MS = 16.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``viewer`` to ``ctchat bench`` (entry point ``ctchat.bench: viewer``)."""
    p = subparsers.add_parser("viewer", help="viewer: slice-step latency vs volume-rendering frame time")
    p.add_argument("--path", help="512x512 series to use (default: the A0001 DICOM, else the demo CT)")
    p.add_argument("--steps", type=int, default=200, help="slice steps to time")
    p.add_argument("--frames", type=int, default=15, help="volume-rendering frames to time")
    p.add_argument("--size", default="1400x900", help="window size WxH")
    p.set_defaults(func=run_bench)


def _stats(ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(ms)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return statistics.median(ordered), p90, statistics.mean(ordered)


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark and print the figures side by side; returns 0."""
    from inference.resources import DEMO_CT, shared_ct_dir

    a0001_dicom = shared_ct_dir() / "dicom" / "chest_lungdx_A0001_5mm"

    from .cli import ensure_display

    path = Path(args.path) if args.path else (a0001_dicom if a0001_dicom.exists() else DEMO_CT)
    ensure_display(["viewer", "--path", str(path.resolve()), "--steps", str(args.steps),
                    "--frames", str(args.frames), "--size", args.size], module="viewer.bench")

    from PySide6 import QtCore, QtGui, QtWidgets
    from PySide6.QtCore import Qt

    from .app import MainWindow
    from .load_worker import LoadWorker

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = MainWindow()
    w, h = (int(x) for x in args.size.lower().split("x"))
    win.resize(w, h)
    win.show()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)

    t0 = time.perf_counter()
    result: dict = {}
    worker = LoadWorker(str(path), None, win.volume_view.max_voxels)
    worker.loaded.connect(lambda s: result.update(scan=s), Qt.ConnectionType.DirectConnection)
    worker.failed.connect(lambda m: result.update(error=m), Qt.ConnectionType.DirectConnection)
    worker.run()  # synchronously: the bench times rendering, not loading
    if "scan" not in result:
        print(f"bench viewer: cannot load {path}: {result.get('error', 'cancelled or several series')}",
              file=sys.stderr)
        return 1
    load_s = time.perf_counter() - t0
    win.show_scan(result["scan"])
    app.processEvents()
    win.render_all()
    vol = result["scan"].volume

    canvas = win.axial.canvas
    center = QtCore.QPointF(canvas.width() / 2, canvas.height() / 2)

    def wheel(delta: int) -> None:
        ev = QtGui.QWheelEvent(center, QtCore.QPointF(canvas.mapToGlobal(center.toPoint())),
                               QtCore.QPoint(0, 0), QtCore.QPoint(0, 120 * delta),
                               Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                               Qt.ScrollPhase.NoScrollPhase, False)
        QtWidgets.QApplication.sendEvent(canvas, ev)

    n_slices = win.axial.n_slices
    direction = 1
    step_ms: list[float] = []  # the wheel event: the scrolled view has rendered its new slice
    linked_ms: list[float] = []  # ... and the two linked views their moved crosshair
    vr_before = win.volume_view.canvas.render_count
    slice_renders_before = sum(v.canvas.render_count for v in win.slice_views)
    for n in range(args.steps + 10):
        k = win.axial.slice_index
        if not 0 <= k + direction < n_slices:
            direction = -direction
        t = time.perf_counter()
        wheel(direction)
        t_step = time.perf_counter()
        app.processEvents()  # runs the linked views' deferred renders
        t_linked = time.perf_counter()
        if win.axial.slice_index != k + direction:
            print("bench viewer: the wheel did not step the slice", file=sys.stderr)
            return 1
        if n >= 10:  # warm-up
            step_ms.append((t_step - t) * 1000.0)
            linked_ms.append((t_linked - t) * 1000.0)
    vr_during_steps = win.volume_view.canvas.render_count - vr_before

    slice_renders = sum(v.canvas.render_count for v in win.slice_views) - slice_renders_before

    vv = win.volume_view
    cam = vv.renderer.GetActiveCamera()
    vr_ms: list[float] = []
    for n in range(args.frames + 2):
        cam.Azimuth(2.0)
        t = time.perf_counter()
        vv.render_frame()
        dt = (time.perf_counter() - t) * 1000.0
        if n >= 2:
            vr_ms.append(dt)
        app.processEvents()

    s_med, s_p90, s_mean = _stats(step_ms)
    l_med, l_p90, l_mean = _stats(linked_ms)
    v_med, v_p90, v_mean = _stats(vr_ms)
    nz, ny, nx = vol.shape
    vr_shape = "x".join(str(n) for n in vv.vr.voxels.shape[::-1]) if vv.vr is not None else "?"
    print(f"ctchat bench viewer — {path.name}: {nx}x{ny}x{nz} {vol.voxels.dtype}, "
          f"loaded in {load_s:.2f} s; window {w}x{h}")
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load1:.1f} (other processes slow the X server "
          "and the software renderer)")
    print(f"OpenGL: {vv.gl_renderer or 'unknown'}; 3D: {vv.mapper_name}, volume {vr_shape}"
          f"{' (downsampled)' if vv.vr is not None and vv.vr.downsampled else ''}")
    print()
    print(f"{'':34s}{'median ms':>10s}{'p90 ms':>10s}{'mean ms':>10s}{'n':>6s}")
    print(f"{'slice step (wheel -> new slice)':34s}{s_med:10.2f}{s_p90:10.2f}{s_mean:10.2f}{len(step_ms):6d}")
    print(f"{'  + linked crosshairs (3 views)':34s}{l_med:10.2f}{l_p90:10.2f}{l_mean:10.2f}{len(linked_ms):6d}")
    print(f"{'volume-rendering frame (3D view)':34s}{v_med:10.2f}{v_p90:10.2f}{v_mean:10.2f}{len(vr_ms):6d}")
    print()
    print(f"VR frame / slice step: {v_med / s_med:.1f}x; "
          f"slice step target < {TARGET_MS:.0f} ms: {'met' if s_p90 < TARGET_MS else 'NOT met'} (p90)")
    print(f"3D renders during {len(step_ms) + 10} slice steps: {vr_during_steps} (must be 0); "
          f"slice-view renders: {slice_renders}")
    win.close()
    return 0 if vr_during_steps == 0 else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m viewer.bench viewer ...``: the same as ``ctchat bench viewer ...``."""
    parser = argparse.ArgumentParser(prog="python -m viewer.bench")
    register(parser.add_subparsers(dest="target", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
