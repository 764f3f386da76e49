"""The status line while a slice-set model encodes a scan's slices, in words.

A slice-set model (MedGemma on a CPU: about a second a slice, 85 slices) takes minutes to read
a scan, so the chat says how long it will take before it starts (when this machine has measured
a slice before) and which slice it is on, and that Stop stops it.
"""

from __future__ import annotations

STOP_HINT = "Stop stops it between slices"


def duration_words(seconds: float) -> str:
    """``seconds`` as a reader says it: ``"about 1 min 25 s"``, ``"about 40 s"``,
    ``"under a second"``."""
    s = int(round(seconds))
    if s < 1:
        return "under a second"
    minutes, rest = divmod(s, 60)
    if not minutes:
        return f"about {rest} s"
    return f"about {minutes} min" + (f" {rest} s" if rest else "")


def encoding_started_words(total: int, seconds: float | None) -> str:
    """Before the first slice: how many slices and, when known, how long (``"Encoding 85
    slices for the model, about 1 min 25 s…"``)."""
    slices = f"{total} slice{'s' * (total != 1)}"
    estimate = f", {duration_words(seconds)}" if seconds is not None else ""
    return f"Encoding {slices} for the model{estimate}… ({STOP_HINT}.)"


def encoding_progress_words(done: int, total: int, seconds: float | None) -> str:
    """After slice ``done`` of ``total``: where the encoding is and, when the whole was
    estimated, about how long is left."""
    left = ""
    if seconds is not None and done < total:
        left = f", {duration_words(seconds * (total - done) / max(1, total))} left"
    return f"Encoding slice {done} of {total} for the model{left}… ({STOP_HINT}.)"
