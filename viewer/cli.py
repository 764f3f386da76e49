"""``ctchat view [PATH] [--screenshot OUT.png]``: the viewer window from the command line."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .chat.panel import ChatPanel
    from .models.transcript import Entry
    from .window.main_window import MainWindow

XVFB_GUARD = "CTCHAT_UNDER_XVFB"
SCREEN = "1600x1000x24"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``view`` sub-command (entry point ``ctchat.commands: view``)."""
    p = subparsers.add_parser("view", help="open the CT viewer window",
                              description="Open a CT (DICOM folder/file or NIfTI) in the viewer.")
    p.add_argument("path", nargs="?", help="scan to open (default: the bundled demo chest CT)")
    p.add_argument("--series", dest="series_uid", help="series UID when the folder holds several")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="render the window with the scan loaded, save it as PNG and exit")
    p.add_argument("--size", default="1400x900", help="window size for --screenshot (WxH)")
    p.add_argument("--demo", action="store_true",
                   help="open the bundled demo chest CT with the default model (the same as no PATH)")
    p.add_argument("--ask", metavar="QUESTION",
                   help="ask this question once the scan is encoded (with --screenshot: shoot after the answer "
                        "and its occlusion relevance)")
    p.add_argument("--bundle", default="default", help="model bundle name or folder for the chat")
    p.add_argument("--max-tokens", type=int, default=128, help="longest answer, in tokens")
    p.add_argument("--slices", type=int, metavar="N",
                   help="a slice-set bundle's slice budget: at most N slices sent (default: its recipe's)")
    p.add_argument("--as-stored", action="store_true",
                   help="show a resampled series' slices as the files store them (uneven spacing, tilt)")
    p.add_argument("--slab", metavar="MODE:MM",
                   help="open with a thick slab: mip:20, minip:10 or mean:5 (projection:thickness in mm)")
    p.add_argument("--oblique", metavar="PLANE:DEGREES",
                   help="open with the crosshair turned, e.g. axial:30 (the other views cut along the turned "
                        "lines; several: axial:30,coronal:-10)")
    p.add_argument("--hanging", choices=("on", "off"), default="on",
                   help="the first look by body region: a chest in lung and mediastinal windows side by side, "
                        "a head in the brain window (default: on)")
    p.add_argument("--prior", metavar="PRIOR",
                   help="a prior scan of the patient to show beside this one, scrolling with it (linked by "
                        "their frame of reference, else aligned by centres)")
    p.add_argument("--prior-offset", metavar="MM",
                   help="where the prior is from this scan: Z, or X,Y,Z in LPS mm (left, posterior, superior "
                        "positive); replaces the automatic alignment")
    p.add_argument("--no-chat", action="store_true",
                   help="the viewer without the chat panel (also the case for --screenshot without --ask)")
    p.set_defaults(func=run_view)


def has_display() -> bool:
    """True when a window can be opened (always assumed outside Linux)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform != "linux"


def ensure_display(ctchat_argv: list[str]) -> None:
    """Without an X display, re-run this command under ``xvfb-run`` (for headless use):
    ``python -m inference.cli <ctchat_argv>``.

    Returns normally when a display exists; otherwise replaces the process or exits.
    """
    if has_display():
        return
    if os.environ.get(XVFB_GUARD) or not shutil.which("xvfb-run"):
        print("ctchat: no display; install xvfb (xvfb-run) or set DISPLAY", file=sys.stderr)
        raise SystemExit(2)
    os.environ[XVFB_GUARD] = "1"
    cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}", sys.executable, "-m", "inference.cli", *ctchat_argv]
    os.execvp(cmd[0], cmd)


def _view_argv(args: argparse.Namespace, path: str) -> list[str]:
    """The ``ctchat`` arguments that repeat this ``view`` command."""
    argv = ["view", path, "--size", args.size]
    if args.screenshot:
        argv += ["--screenshot", str(Path(args.screenshot).resolve())]
    if args.series_uid:
        argv += ["--series", args.series_uid]
    if args.ask:
        argv += ["--ask", args.ask]
    argv += ["--bundle", args.bundle, "--max-tokens", str(args.max_tokens)] + (["--no-chat"] if args.no_chat else [])
    argv += ["--as-stored"] if args.as_stored else []
    argv += ["--slices", str(args.slices)] if args.slices is not None else []
    argv += ["--slab", args.slab] if args.slab else []
    argv += ["--hanging", args.hanging] + (["--oblique", args.oblique] if args.oblique else [])
    argv += ["--prior", str(Path(args.prior).resolve())] if args.prior else []
    argv += ["--prior-offset", args.prior_offset] if args.prior_offset else []
    return argv


def run_view(args: argparse.Namespace) -> int:
    """Open the window (and optionally save a screenshot and exit); returns the exit status."""
    from inference.resources import DEMO_CT

    from .models.oblique import parse_oblique
    from .models.prior_link import parse_offset
    from .models.slab import parse_slab

    path = str(DEMO_CT) if args.demo or not args.path else args.path
    try:
        slab = parse_slab(args.slab or "off")
    except ValueError as exc:
        print(f"ctchat view: --slab: {exc}", file=sys.stderr)
        return 2
    try:
        oblique = parse_oblique(args.oblique or "off")
    except ValueError as exc:
        print(f"ctchat view: --oblique: {exc}", file=sys.stderr)
        return 2
    try:
        prior_offset = parse_offset(args.prior_offset) if args.prior_offset else None
    except ValueError as exc:
        print(f"ctchat view: --prior-offset: {exc}", file=sys.stderr)
        return 2
    if prior_offset is not None and not args.prior:
        print("ctchat view: --prior-offset needs --prior", file=sys.stderr)
        return 2
    if args.screenshot:
        ensure_display(_view_argv(args, str(Path(path).resolve())))
    elif not has_display():
        print("ctchat view: no display (DISPLAY is not set); use --screenshot for headless use",
              file=sys.stderr)
        return 2
    from PySide6 import QtCore, QtWidgets

    from .models.chat import ChatState
    from .models.slice_scores import displayed_slice
    from .window.main_window import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    # A plain --screenshot (no --ask) shows the viewer alone, as before the chat existed.
    chat = not args.no_chat and (bool(args.ask) or not args.screenshot)
    if args.slices is not None and args.slices < 1:
        print(f"ctchat view: --slices must be at least 1 (got {args.slices})", file=sys.stderr)
        return 2
    win = MainWindow(chat=chat, bundle=args.bundle, max_tokens=args.max_tokens, as_stored=args.as_stored,
                     slices=args.slices, hanging=args.hanging == "on")
    win.reading.set_slab(slab)
    win.reading.set_oblique(oblique)
    if args.screenshot:
        w, h = (int(x) for x in args.size.lower().split("x"))
        win.resize(w, h)
    win.show()
    panel = win.chat_panel
    if args.ask and panel is not None:
        _ask_when_ready(panel, args.ask)
    win.open_path(path, args.series_uid)
    if args.prior:  # loaded beside the scan, in whichever order the two loads end
        win.prior.open(args.prior)
    if prior_offset is not None:  # applied once both scans are shown
        win.prior.set_offset(prior_offset)
    if not args.screenshot:
        return app.exec()

    status = {"code": 1}
    waiting = {"scan", "prior"} if args.prior else {"scan"}

    def finished(result: str) -> None:
        if result == "series" and win.series_dialog is not None:
            if not _open_default_series(win, path):  # else finished() runs again once it has loaded
                app.exit(1)
            return
        if result != "loaded":
            # The bar's detail line alone: its heading and bullet would make two lines on a terminal.
            lines = win.message_bar.label.text().splitlines()
            text = lines[-1].removeprefix("• ") if lines else result
            print(f"ctchat view: could not load {path}: {text}", file=sys.stderr)
            app.exit(1)
            return
        waiting.discard("scan")
        go_on()

    def prior_finished(result: str) -> None:
        if result != "loaded":
            lines = win.message_bar.label.text().splitlines()
            why = (lines[-1].removeprefix("• ") if lines and result == "failed" else
                   "the folder holds several series: give one series' folder or file")
            print(f"ctchat view: could not load the prior {args.prior}: {why}", file=sys.stderr)
            app.exit(1)
            return
        waiting.discard("prior")
        go_on()

    def go_on() -> None:
        """Once the scan (and the prior) are shown: wait for the answer, or shoot."""
        if waiting:
            return
        if win.prior.link is not None:
            print(f"prior: {win.prior.link.alignment.words()}")
        if args.ask and panel is not None and panel.state != ChatState.FAILED:
            panel.answerFinished.connect(lambda entry: _answered(entry))
            panel.stateChanged.connect(
                lambda state: state in (ChatState.FAILED, ChatState.SCAN_FAILED) and _answered(None))
            return
        # Let the layout settle and every view paint once before grabbing.
        QtCore.QTimer.singleShot(300, shoot)

    def _answered(entry: Entry | None) -> None:
        if entry is not None:
            print(f"Q: {entry.shown}\nA: {entry.shown_text()}")
            if entry.answer is not None and entry.answer.top_slices:
                print(f"[{entry.answer.top_range()} scored highest]")
                win.go_to_axial_slice(displayed_slice(win.scan.volume, entry.answer.top_slices[0]))
            elif entry.answer is not None:  # a slice-set model also says how many slices it was sent
                print(f"[{entry.model_input + '; ' if entry.model_input else ''}{entry.answer.top_range()}]")
            if panel.model.relevance.is_waiting(entry):  # the shot shows its occlusion strip too
                panel.relevanceFinished.connect(lambda done: done is entry and _relevance_in(entry))
                return
        else:
            print(f"ctchat view: no answer: {panel.status.text()}", file=sys.stderr)
        QtCore.QTimer.singleShot(300, shoot)

    def _relevance_in(entry: Entry) -> None:
        why = panel.model.relevance.unavailable or panel.status.text()
        print(f"[{entry.occlusion_words() or 'no occlusion relevance: ' + why}]")
        QtCore.QTimer.singleShot(300, shoot)

    def shoot() -> None:
        out = Path(args.screenshot)
        out.parent.mkdir(parents=True, exist_ok=True)
        win.save_window_png(out)
        print(f"saved {out}")
        status["code"] = 0
        app.exit(0)

    win.loadFinished.connect(finished)
    win.prior.loadFinished.connect(prior_finished)
    code = app.exec()
    win.close()
    return code or status["code"]


def _open_default_series(win: MainWindow, path: str) -> bool:
    """A folder of several series shot headless: say so, and open the one the picker offers
    first; False when none can be shown."""
    from inference.io.loader import default_series

    dialog = win.series_dialog
    dialog.hide()
    pick = default_series(dialog.series)
    if pick is None:
        print(f"ctchat view: {path} holds {len(dialog.series)} series and none of them can be shown; "
              "`ctchat info PATH` says why", file=sys.stderr)
        return False
    print(f"ctchat view: {path} holds {len(dialog.series)} series; showing {pick.description or 'the series'} "
          f"({pick.n_slices} slices, the largest axial CT): choose another with --series UID "
          f"(`ctchat info {path}` lists them). This one: --series {pick.uid}", file=sys.stderr)
    win.open_path(path, pick.uid)
    return True


def _ask_when_ready(panel: ChatPanel, question: str) -> None:
    """Ask ``question`` the first time the panel becomes ready (scan encoded)."""
    from .models.chat import ChatState

    def on_state(state: str) -> None:
        if state == ChatState.READY:
            panel.stateChanged.disconnect(on_state)
            panel.ask(question)

    panel.stateChanged.connect(on_state)
