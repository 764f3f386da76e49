"""Doctor sections other packages contribute (entry-point group ``ctchat.doctor``), each run in
a child Python process that prints its checks as JSON: a Qt or OpenGL driver that aborts or
crashes becomes a failed check with a hint, and the runtime process never loads Qt."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

from .check import FAIL, Check

GROUP = "ctchat.doctor"
TIMEOUT_S = 90
# Runs one entry point in the child; its function returns a list of Check-like dicts.
_RUNNER = ("import json, sys\n"
           "from importlib.metadata import entry_points\n"
           "(ep,) = [e for e in entry_points(group=sys.argv[1]) if e.name == sys.argv[2]]\n"
           "print(json.dumps(ep.load()()))\n")


def section_checks() -> list[Check]:
    """The checks of every registered section, in name order."""
    checks: list[Check] = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        checks.extend(run_section(ep.name))
    return checks


def run_section(name: str) -> list[Check]:
    """Run the section ``name`` in a child process; a crash or timeout is one failed check."""
    try:
        done = subprocess.run([sys.executable, "-P", "-c", _RUNNER, GROUP, name], capture_output=True,
                              text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return [Check(name, FAIL, f"the {name} checks did not finish in {TIMEOUT_S} s",
                      "a graphics driver may hang: try `ctchat doctor` again with DISPLAY unset to see the rest")]
    if done.returncode != 0:
        return [Check(name, FAIL, f"the {name} checks stopped (exit status {done.returncode}): {_last_line(done.stderr)}",
                      crash_hint(done.stderr))]
    try:
        return [Check.from_dict(d) for d in json.loads(done.stdout.strip().splitlines()[-1])]
    except (ValueError, KeyError, IndexError, TypeError):
        return [Check(name, FAIL, f"the {name} checks printed no result", "report this as a bug in ctchat")]


def crash_hint(stderr: str) -> str:
    """What to do about a child that died, from what it printed."""
    if "platform plugin" in stderr or "xcb" in stderr:
        return ("Qt cannot open its X11 platform plugin: install the X libraries "
                "(bash scripts/install.sh does; libxcb-cursor0 is the usual one missing)")
    if "GL" in stderr or "GLX" in stderr or "EGL" in stderr:
        return "the OpenGL driver failed: install the GPU vendor's driver, or Mesa (libgl1, libegl1)"
    return "run it again with the full output: python -c 'import PySide6, vtk' shows which library fails"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no message"
