"""Which slices a slice-set model was given for the scan in view, and where the viewer shows them.

A slice-set model (MedGemma-style: a 2D multimodal LLM) is given some of the scan's stored
slices as images. The scroller marks them; this model holds them, Qt-free: the stored slices
(from 0, as the session reports them) and, for each, the displayed axial slice that shows it,
mapped as the TG-IS scores are (:func:`~viewer.models.slice_scores.displayed_slice`: the same
slice unless the scan was resampled onto a regular grid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .events import Event
from .slice_scores import displayed_slice

if TYPE_CHECKING:
    from inference.io import Volume


class SentSlices:
    """The stored slices sent to the model (empty: none, or a model that reads the whole volume).

    Attributes:
        stored: the stored slices sent (indices from 0), in the order sent.
        displayed: for each, the displayed axial slice (index) that shows it.
        n_stored: how many stored slices the scan has (0 without a scan).

    Event: ``changed()`` after each change.
    """

    def __init__(self) -> None:
        self.stored: list[int] = []
        self.displayed: list[int] = []
        self.n_stored = 0
        self.changed = Event()

    def set(self, stored: Sequence[int] | None, volume: Volume | None) -> None:
        """Show ``stored`` (slices of ``volume``, from 0) as sent; None or no volume: none."""
        if not stored or volume is None:
            self.stored, self.displayed, self.n_stored = [], [], 0
        else:
            self.stored = [int(s) for s in stored]
            self.displayed = [displayed_slice(volume, s) for s in self.stored]
            self.n_stored = int(volume.n_original)
        self.changed.emit()

    def clear(self) -> None:
        """No slices marked (another scan, not encoded yet)."""
        self.set(None, None)

    def __len__(self) -> int:
        return len(self.stored)

    def sent_at(self, displayed: int) -> list[int]:
        """The positions in :attr:`stored` (from 0) of the sent slices shown at displayed slice
        ``displayed`` (several when a resampled grid puts two stored slices on one)."""
        return [n for n, k in enumerate(self.displayed) if k == displayed]

    def words(self, n: int) -> str:
        """Sent slice ``n`` (position in the order sent, from 0) in words, numbered from 1 as
        the model's own labels and the transcript count: ``"sent to the model (slice 2 of 4):
        stored slice 33 of 64"``."""
        return (f"sent to the model (slice {n + 1} of {len(self.stored)}): "
                f"stored slice {self.stored[n] + 1} of {self.n_stored}")

    def summary(self) -> str:
        """How many slices the model was given, for an answer's notes line (``""`` for none)."""
        if not self.stored:
            return ""
        return f"{len(self.stored)} of {self.n_stored} stored slices sent as images"
