"""The measured seconds one slice takes to encode with a slice-set bundle on this machine,
kept between runs so that the app can say, before a long encode starts, how long it will take.

A small JSON file per bundle under the app's data folder (named by a hash of the bundle's
identity: no patient data): the median of the last slices measured.
"""

from __future__ import annotations

import hashlib
import json
import statistics

from ..resources import data_dir

KEEP = 32  # the most recent per-slice times kept


class SliceCost:
    """Per-slice encode times of one bundle on this machine."""

    def __init__(self, bundle_identity: str) -> None:
        name = hashlib.sha256(bundle_identity.encode()).hexdigest()[:16]
        self.path = data_dir() / "cache" / "slice_cost" / f"{name}.json"
        try:
            self.times: list[float] = [float(t) for t in json.loads(self.path.read_text())["seconds"]][-KEEP:]
        except (OSError, ValueError, KeyError, TypeError):
            self.times = []

    def record(self, seconds: float) -> None:
        self.times = (self.times + [float(seconds)])[-KEEP:]

    def per_slice(self) -> float | None:
        """The median seconds per slice, or None before any was measured."""
        return statistics.median(self.times) if self.times else None

    def estimate(self, n_slices: int) -> float | None:
        per = self.per_slice()
        return None if per is None else per * n_slices

    def save(self) -> None:
        """Write the times (a read-only or full disk only means no estimate next time)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"seconds": self.times}))
            tmp.replace(self.path)
        except OSError:
            pass
