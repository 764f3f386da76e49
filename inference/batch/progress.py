"""A progress bar on stderr: scans done of all, answers written, errors, time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .runner import Record


class Progress:
    """Counts the lines written and redraws one stderr line (on a terminal, when ``live``)."""

    def __init__(self, n_scans: int, n_answers: int, stream: TextIO | None = None, width: int = 28,
                 live: bool = True) -> None:
        self.n_scans, self.n_answers, self.width = n_scans, n_answers, width
        self.stream = stream or sys.stderr  # looked up now: the one in use when the run starts
        self.answers = self.errors = 0
        self.scans: set[str] = set()
        self._t0 = time.monotonic()
        self._live = live and self.stream.isatty()

    def record(self, record: Record) -> None:
        """Count one written line and redraw."""
        self.scans.add(record["scan_id"])
        if "error" in record:
            self.errors += 1
        self.answers += len(record.get("rows", [])) if record.get("row") is None else 1
        if self._live:
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def line(self) -> str:
        """``[#####-----] 3/10 scans, 12/40 answers, 1 error, 2 min left``."""
        done = self.answers / self.n_answers if self.n_answers else 1.0
        bar = "#" * round(done * self.width)
        elapsed = time.monotonic() - self._t0
        left = f", {elapsed * (1 - done) / done / 60:.1f} min left" if 0 < done < 1 else ""
        errors = f", {self.errors} error{'s' * (self.errors != 1)}" if self.errors else ""
        return (f"[{bar:-<{self.width}}] {len(self.scans)}/{self.n_scans} scans, "
                f"{self.answers}/{self.n_answers} answers{errors}{left}")

    def finish(self) -> None:
        """End the bar's line with the totals."""
        self.stream.write(("\r" if self._live else "") + self.line() + "\n")
        self.stream.flush()
