"""``ctchat doctor``: one screen saying what this machine will run and why (Python, Qt/VTK and
the OpenGL driver, ONNX Runtime providers that really load, llama.cpp's build and layer offload,
the default bundle's hashes, the data folder, free memory), a hint for each problem."""

from __future__ import annotations

import argparse
import json

from ..doctor import FAIL
from ..doctor.report import render, run_checks


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("doctor", help="what this machine will run, and a hint for each problem")
    p.add_argument("--json", action="store_true", help="one JSON object with every check")
    p.add_argument("--no-viewer", action="store_true", help="leave out the viewer's checks (Qt, VTK, OpenGL)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit status 1 when a check failed (something will not work), else 0."""
    checks = run_checks(with_sections=not args.no_viewer)
    if args.json:
        print(json.dumps({"checks": [c.to_dict() for c in checks],
                          "ok": not any(c.status == FAIL for c in checks)}, indent=2))
    else:
        print(render(checks))
    return 1 if any(c.status == FAIL for c in checks) else 0
