"""``ctchat bench viewer``: one slice step against one volume-rendering frame, 3D view open (and the
same step through thick slabs, through oblique planes, ``axial:30``, and with a prior beside the
scan: the scan itself as its own prior, linked by its frame of reference).

A slice step is one mouse-wheel notch on the axial view, delivered as a real Qt wheel event;
it returns when the axial view has rendered its new slice. The coronal and sagittal views
re-render their moved crosshair when the event loop is next idle: timed separately. The 3D view must not render during steps (its render count is checked).
A VR frame is one full-quality render of the 3D view after a 2 degree turn.

With the chat (``--chat-tokens`` > 0, the default): a 5 ms timer ticks on the UI thread while
the model starts, while it encodes the scan and while it streams the findings of the scan
(the longest answer it gives); the longest gap between ticks, the p99 and the median are the
UI thread's stalls (5 ms = never stalled; the target is 50 ms at most). The model runs in its
worker thread with all cores but one (``--chat-threads`` to compare).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from viewer.models.chat import ChatState
from viewer.models.oblique import PLAIN_FRAME, parse_oblique
from viewer.models.slab import PLAIN, SLAB_NAMES, Slab, SlabMode

if TYPE_CHECKING:
    from viewer.window.main_window import MainWindow

TARGET_MS = 16.0
SLAB_MM = 20.0  # the thick slab timed beside the plain slice step
SLAB_ROWS = (SlabMode.MIP, SlabMode.MINIP, SlabMode.MEAN)
OBLIQUE = "axial:30"  # the turned crosshair timed beside the plain slice step (vtkImageReslice per view)
OBLIQUE_GOAL = 2.0  # an oblique step within twice the plain step
STALL_TARGET_MS = 50.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``viewer`` to ``ctchat bench`` (entry point ``ctchat.bench: viewer``)."""
    p = subparsers.add_parser("viewer", help="viewer: slice-step latency vs volume-rendering frame time")
    p.add_argument("--path", help="512x512 series to use (default: the A0001 DICOM, else the demo CT)")
    p.add_argument("--steps", type=int, default=200, help="slice steps to time")
    p.add_argument("--frames", type=int, default=15, help="volume-rendering frames to time")
    p.add_argument("--size", default="1400x900", help="window size WxH")
    p.add_argument("--chat-tokens", type=int, default=64,
                   help="tokens of the answer streamed while the UI thread's stalls are timed (0: skip)")
    p.add_argument("--chat-threads", type=int, default=0, help="model CPU threads (default: all cores but one)")
    p.add_argument("--earlier-answers", type=int, default=0,
                   help="questions answered before the timed one (a long conversation's transcript)")
    p.set_defaults(func=run_bench)


def _stats(ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(ms)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return statistics.median(ordered), p90, statistics.mean(ordered)


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark and print the figures side by side; returns 0."""
    from inference.resources import DEMO_CT, shared_ct_dir

    a0001_dicom = shared_ct_dir() / "dicom" / "chest_lungdx_A0001_5mm"

    from viewer.cli import ensure_display

    path = Path(args.path) if args.path else (a0001_dicom if a0001_dicom.exists() else DEMO_CT)
    ensure_display(["bench", "viewer", "--path", str(path.resolve()), "--steps", str(args.steps),
                    "--frames", str(args.frames), "--size", args.size, "--chat-tokens", str(args.chat_tokens),
                    "--chat-threads", str(args.chat_threads),
                    "--earlier-answers", str(args.earlier_answers)])

    from PySide6 import QtCore, QtGui, QtWidgets
    from PySide6.QtCore import Qt

    from viewer.window.load_worker import LoadWorker
    from viewer.window.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = MainWindow(chat=args.chat_tokens > 0, max_tokens=max(1, args.chat_tokens),
                     n_threads=args.chat_threads or None)
    w, h = (int(x) for x in args.size.lower().split("x"))
    win.resize(w, h)
    win.show()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    start_gaps: list[float] = []  # the model loads in its thread while the window is up
    if win.chat_panel is not None:
        _wait_chat(win, ChatState.IDLE, 120.0, start_gaps)

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
    # The model encodes the scan in its thread: wait, so that it does not disturb the timings.
    encode_gaps: list[float] = []
    chat_ready = _wait_chat(win, ChatState.READY, 120.0, encode_gaps) if win.chat_panel is not None else False
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
    direction = [1]

    def time_steps(n_steps: int) -> tuple[list[float], list[float]] | None:
        """Wheel ``n_steps`` (+10 warm-up) notches: (the scrolled view's ms, + the linked views' ms)."""
        step: list[float] = []  # the wheel event: the scrolled view has rendered its new slice
        linked: list[float] = []  # ... and the two linked views their moved crosshair
        for n in range(n_steps + 10):
            k = win.axial.slice_index
            if not 0 <= k + direction[0] < n_slices:
                direction[0] = -direction[0]
            t = time.perf_counter()
            wheel(direction[0])
            t_step = time.perf_counter()
            app.processEvents()  # runs the linked views' deferred renders
            t_linked = time.perf_counter()
            if win.axial.slice_index != k + direction[0]:
                return None
            if n >= 10:  # warm-up
                step.append((t_step - t) * 1000.0)
                linked.append((t_linked - t) * 1000.0)
        return step, linked

    vr_before = win.volume_view.canvas.render_count
    slice_renders_before = sum(v.canvas.render_count for v in win.slice_views)
    timed = time_steps(args.steps)
    vr_during_steps = win.volume_view.canvas.render_count - vr_before
    slice_renders = sum(v.canvas.render_count for v in win.slice_views) - slice_renders_before
    slab_timed = {}
    oblique_timed = prior_timed = None
    if timed is not None:  # the same steps through thick slabs (all three views project theirs)
        for mode in SLAB_ROWS:
            win.reading.set_slab(Slab(mode, SLAB_MM))
            app.processEvents()
            slab_timed[mode] = time_steps(args.steps)
        win.reading.set_slab(PLAIN)
        win.reading.set_oblique(parse_oblique(OBLIQUE))  # the same steps through turned planes
        app.processEvents()
        oblique_timed = time_steps(args.steps)
        win.reading.set_oblique(PLAIN_FRAME)
        app.processEvents()
        win.prior.show_prior(result["scan"])  # the scan beside itself as a prior: one frame, linked
        app.processEvents()
        prior_timed = time_steps(args.steps)
        win.prior.close_prior()
        app.processEvents()
    if timed is None or None in slab_timed.values() or oblique_timed is None or prior_timed is None:
        print("bench viewer: the wheel did not step the slice", file=sys.stderr)
        return 1
    step_ms, linked_ms = timed

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

    earlier = _ask_earlier(win, args.earlier_answers) if chat_ready else 0
    stall = _chat_stalls(win) if chat_ready else None

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
    for mode, (ms, _linked) in slab_timed.items():
        m_med, m_p90, m_mean = _stats(ms)
        label = f"{SLAB_NAMES[mode]} {SLAB_MM:g} mm slab step"
        print(f"{label:34s}{m_med:10.2f}{m_p90:10.2f}{m_mean:10.2f}{len(ms):6d}")
    o_med, o_p90, o_mean = _stats(oblique_timed[0])
    print(f"{'oblique step (' + OBLIQUE + ')':34s}{o_med:10.2f}{o_p90:10.2f}{o_mean:10.2f}{len(oblique_timed[0]):6d}")
    ps_med, ps_p90, ps_mean = _stats(prior_timed[0])
    p_med, p_p90, p_mean = _stats(prior_timed[1])
    print(f"{'slice step, current | prior layout':34s}{ps_med:10.2f}{ps_p90:10.2f}{ps_mean:10.2f}{len(prior_timed[0]):6d}")
    print(f"{'  + the linked prior view':34s}{p_med:10.2f}{p_p90:10.2f}{p_mean:10.2f}{len(prior_timed[1]):6d}")
    print(f"{'volume-rendering frame (3D view)':34s}{v_med:10.2f}{v_p90:10.2f}{v_mean:10.2f}{len(vr_ms):6d}")
    print()
    print(f"VR frame / slice step: {v_med / s_med:.1f}x; "
          f"slice step target < {TARGET_MS:.0f} ms: {'met' if s_p90 < TARGET_MS else 'NOT met'} (p90)")
    if slab_timed:
        slab_med = _stats(slab_timed[SlabMode.MIP][0])[0]
        print(f"MIP {SLAB_MM:g} mm slab step / plain slice step: {slab_med / s_med:.2f}x; slab step target "
              f"<= {TARGET_MS:.0f} ms: {'met' if slab_med <= TARGET_MS else 'NOT met'} (median)")
    print(f"oblique step / plain slice step: {o_med / s_med:.2f}x; goal <= {OBLIQUE_GOAL:g}x: "
          f"{'met' if o_med <= OBLIQUE_GOAL * s_med else 'NOT met'} (median)")
    print(f"current | prior: the scrolled view {ps_med:.2f} ms (target < {TARGET_MS:.0f} ms: "
          f"{'met' if ps_p90 < TARGET_MS else 'NOT met'}, p90), both views {p_med:.2f} ms; the two views are "
          f"each twice the four-up's size (pixels drawn by software OpenGL)")
    print(f"3D renders during {len(step_ms) + 10} slice steps: {vr_during_steps} (must be 0); "
          f"slice-view renders: {slice_renders}")
    if stall is not None:
        print()
        if not encode_gaps:
            print("UI thread while the model encodes the scan: not timed (read from the scan cache at once)")
        for what, gaps in (("starts", start_gaps), ("encodes the scan", encode_gaps)):
            if gaps:
                print(f"UI thread while the model {what} ({TICK_MS} ms timer): longest stall "
                      f"{gaps[-1]:.1f} ms, p99 gap {_p99(gaps):.1f} ms, {len(gaps)} gaps")
        print(f"UI thread while the findings stream after {earlier} earlier answer(s) "
              f"({stall['tokens']} tokens in {stall['seconds']:.2f} s, "
              f"{stall['threads']} model thread(s), {TICK_MS} ms timer): longest stall {stall['max']:.1f} ms, "
              f"p99 gap {stall['p99']:.1f} ms, median gap {stall['median']:.1f} ms, {stall['ticks']} ticks")
        longest = max([stall["max"], *start_gaps[-1:], *encode_gaps[-1:]])
        print(f"longest UI stall while the model works: {longest:.1f} ms; target <= {STALL_TARGET_MS:.0f} ms: "
              f"{'met' if longest <= STALL_TARGET_MS else 'NOT met'}")
    elif win.chat_panel is not None:
        print(f"chat: not measured ({win.chat_panel.status.text()})")
    win.close()
    return 0 if vr_during_steps == 0 else 1


TICK_MS = 5


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def _tick_timer(ticks: list[float]):
    """A 5 ms UI-thread timer that records when it fires."""
    from PySide6 import QtCore

    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    return timer


def _wait_chat(win: MainWindow, state: ChatState, timeout_s: float, gaps: list[float] | None = None) -> bool:
    """Run the event loop until the chat panel reaches ``state`` (False on failure or timeout);
    the UI thread's timer gaps meanwhile (ms, sorted) go to ``gaps``."""
    from PySide6 import QtCore

    panel = win.chat_panel
    ticks: list[float] = []
    timer = _tick_timer(ticks)
    timer.start()
    loop = QtCore.QEventLoop()  # not a sleep loop: the model's thread needs the GIL while it works

    def on_state(s: str) -> None:
        if s in (state, ChatState.FAILED, ChatState.SCAN_FAILED):
            loop.quit()

    panel.stateChanged.connect(on_state)
    QtCore.QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if panel.state != state:
        loop.exec()
    panel.stateChanged.disconnect(on_state)  # called once per earlier answer: slots must not pile up
    timer.stop()
    if gaps is not None:
        gaps += sorted((b - a) * 1000.0 for a, b in zip(ticks, ticks[1:]))
    return panel.state == state


EARLIER_QUESTIONS = ("Is there a nodule in the right upper lobe?", "Describe the lungs.", "Is there pleural effusion?")


def _ask_earlier(win: MainWindow, n: int) -> int:
    """Ask ``n`` questions (answers as long as the timed one's) so that the timed answer joins
    a long transcript; returns how many were answered."""
    panel = win.chat_panel
    answered = 0
    for k in range(n):
        entry = panel.ask(EARLIER_QUESTIONS[k % len(EARLIER_QUESTIONS)])
        if entry is not None and _wait_chat(win, ChatState.READY, 60.0):
            answered += entry.answer is not None
    return answered


def _chat_stalls(win: MainWindow) -> dict | None:
    """Ask for the findings and time the gaps between ticks of a 5 ms UI-thread timer while the
    answer streams and just after (the finished answer is rendered); returns max / p99 / median
    gap (ms), or None when no answer came."""
    from PySide6 import QtCore

    from inference.question import Question

    panel = win.chat_panel
    ticks: list[float] = []
    timer = _tick_timer(ticks)
    done: list = []
    loop = QtCore.QEventLoop()
    # the timer runs on for 100 ms after the answer: the finished answer's render is timed too
    panel.answerFinished.connect(lambda e: (done.append((e, time.perf_counter())),
                                            QtCore.QTimer.singleShot(100, loop.quit)))
    QtCore.QTimer.singleShot(120000, loop.quit)
    timer.start()
    t0 = time.perf_counter()
    if panel.ask(Question.findings()) is None:
        return None
    loop.exec()
    timer.stop()
    if not done or done[0][0].answer is None or len(ticks) < 3:
        return None
    gaps = sorted((b - a) * 1000.0 for a, b in zip(ticks, ticks[1:]))
    return {"max": gaps[-1], "p99": _p99(gaps),
            "median": statistics.median(gaps), "ticks": len(ticks), "tokens": done[0][0].answer.n_tokens,
            "seconds": done[0][1] - t0, "threads": (panel.model_info or {}).get("threads", "?")}
