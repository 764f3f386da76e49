"""Unexpected failures: the traceback goes to a log file, the user gets one sentence and its path."""

from __future__ import annotations

import datetime
import os
import platform
import sys
import traceback
from pathlib import Path

from .resources import data_dir


def logs_dir() -> Path:
    """Where crash logs are kept (``<data dir>/logs``)."""
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_crash_log(exc: BaseException, context: str) -> Path | None:
    """Write ``exc``'s traceback and the versions that matter to a new log file.

    The file is named by time and process only (no scan or patient names); returns its path,
    or None when even that cannot be written.
    """
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        path = logs_dir() / f"ctchat-{stamp}-{os.getpid()}.log"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"ctchat crash log: {context}\n")
            fh.write(f"python {sys.version.split()[0]} on {platform.platform()}\n\n")
            fh.writelines(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return path
    except OSError:
        return None


def unexpected_error_sentence(exc: BaseException, context: str) -> str:
    """One sentence for the user about a failure the code did not foresee (a bug)."""
    log = write_crash_log(exc, context)
    where = f"; the details are in {log}" if log else ""
    return f"{context} stopped on an unexpected problem, which is a bug in ctchat{where}"
