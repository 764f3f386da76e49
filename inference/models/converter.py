"""Running ``ctchat convert`` from ``ctchat pull``, without the runtime importing model building.

The converter is a plugin of the ``ctchat`` command line (entry point ``convert`` of the group
``ctchat.commands``, registered by the ``convert`` package), and the runtime may not import that
package (an import-linter contract). So a pull finds the plugin as the command line does,
builds its sub-command in a private parser and runs it, exactly as ``ctchat convert SOURCE
--out BUNDLE`` would: a published safetensors folder is converted, a GGUF pair placed.

Its progress lines go to stderr (stdout stays the pull's), except its closing "wrote ... try
ctchat ask --bundle ..." line, which would name the pull's temporary folder. Its error sentence
is taken from its stderr and becomes the pull's.
"""

from __future__ import annotations

import argparse
import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from importlib.metadata import entry_points
from pathlib import Path

from .errors import PullError

GROUP, NAME = "ctchat.commands", "convert"
CONVERT_PREFIX = "ctchat convert: "


class _ProgressToStderr(io.TextIOBase):
    """Passes the converter's stdout lines on to stderr, less its closing "wrote" line."""

    def __init__(self) -> None:
        self._pending = ""
        self._out = sys.stderr  # taken before stderr is redirected to catch the error sentence

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if not line.startswith("wrote "):
                print(line, file=self._out, flush=True)
        return len(text)

    def close_line(self) -> None:
        """Pass on a last line that ended without a newline."""
        if self._pending and not self._pending.startswith("wrote "):
            print(self._pending, file=self._out, flush=True)
        self._pending = ""


def _convert_command() -> argparse.ArgumentParser:
    """A parser holding only the ``convert`` plugin's sub-command."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == NAME]
    if not found:
        raise PullError("converting a published model needs ctchat's model building (`ctchat convert`), which "
                        "this install lacks: install the convert extra")
    try:
        register = found[0].load()
    except ImportError as exc:
        raise PullError(f"`ctchat convert` cannot be loaded ({exc}): install the convert extra") from None
    parser = argparse.ArgumentParser(prog="ctchat", add_help=False)
    register(parser.add_subparsers(dest="command"))
    return parser


def run_converter(source: Path, out: Path, quant: str, tokenizer: Path | None = None,
                  text_encoder: Path | None = None, label: str = "") -> None:
    """``ctchat convert SOURCE --out OUT --quant QUANT [--tokenizer DIR] [--text-encoder DIR]``.

    Raises:
        PullError: the converter refused or failed (its own sentence, after ``label``).
    """
    argv = [NAME, str(source), "--out", str(out), "--quant", quant]
    if tokenizer is not None:
        argv += ["--tokenizer", str(tokenizer)]
    if text_encoder is not None:
        argv += ["--text-encoder", str(text_encoder)]
    args = _convert_command().parse_args(argv)
    errors = io.StringIO()
    progress = _ProgressToStderr()
    try:
        with redirect_stderr(errors), redirect_stdout(progress):
            status = int(args.func(args) or 0)
        progress.close_line()
    except ImportError as exc:  # a package of the convert extra (torch, transformers) is missing
        raise PullError(f"{label or source.name} cannot be converted here ({exc}): install the convert "
                        "extra") from None
    if status == 0:
        sys.stderr.write(errors.getvalue())
        return
    said = [ln for ln in errors.getvalue().splitlines() if ln.strip()]
    reason = next((ln[len(CONVERT_PREFIX):] for ln in reversed(said) if ln.startswith(CONVERT_PREFIX)),
                  said[-1] if said else f"it stopped with status {status}")
    raise PullError(f"{label or source.name} could not be converted: {reason}")
