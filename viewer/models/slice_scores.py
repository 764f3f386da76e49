"""What the TG-IS heat strips show: the selected question's score for each displayed axial
slice, the question they belong to, and the axial slice in view."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from .events import Event

if TYPE_CHECKING:
    from inference.io import Volume


def scores_on_grid(scores: np.ndarray | None, volume: Volume | None) -> np.ndarray | None:
    """A question's scores (one per stored slice) as one per displayed axial slice: the same
    slices unless the scan was resampled onto a regular grid, then interpolated onto it."""
    if scores is not None and volume is not None and volume.original is not None:
        return np.interp(volume.grid_to_original(np.arange(volume.shape[0])), np.arange(len(scores)), scores)
    return scores


def displayed_slice(volume: Volume, stored: int) -> int:
    """The displayed axial slice (index) that shows stored slice ``stored`` (index): itself unless
    the scan was resampled, then the grid slice at (or nearest) its position."""
    k = int(np.rint(volume.original_to_grid(float(stored))))
    return int(np.clip(k, 0, volume.shape[0] - 1))


class SliceScores:
    """Scores per displayed axial slice (empty: none), their question ("" for none) and the
    axial slice in view (-1: none marked).

    The scores refer to the stored slices, and every slice number shown with them counts from 1
    on the stored slices (as the transcript, ``ctchat ask`` and the CSVs do); a resampled scan's
    displayed slices are numbered differently, so :attr:`stored_at` and :meth:`slice_words` say
    where each stored slice is displayed and what each displayed slice is.

    Event: ``changed()`` after each change.
    """

    def __init__(self) -> None:
        self.scores: np.ndarray = np.zeros(0)
        self.stored: np.ndarray = np.zeros(0)  # the scores per stored slice
        self.stored_at: np.ndarray = np.zeros(0)  # fractional displayed index of each stored slice
        self._stored_of: np.ndarray = np.zeros(0)  # fractional stored index of each displayed slice
        self.resampled = False
        self.question = ""
        self.current = -1
        self.changed = Event()

    def set_scores(self, scores: Sequence[float] | np.ndarray | None, volume: Volume | None = None) -> None:
        """Show ``scores`` (one per stored slice of ``volume``), or none with None; without a
        volume the displayed slices are taken to be the stored ones."""
        self.stored = np.zeros(0) if scores is None else np.asarray(scores, dtype=np.float64)
        self.scores = np.asarray(scores_on_grid(self.stored, volume) if scores is not None else self.stored)
        self.resampled = volume is not None and volume.original is not None
        n_stored, n_shown = self.stored.size, self.scores.size
        if self.resampled:
            self.stored_at = volume.original_to_grid(np.arange(n_stored))
            self._stored_of = volume.grid_to_original(np.arange(n_shown))
        else:
            self.stored_at = self._stored_of = np.arange(n_stored, dtype=np.float64)
        self.changed.emit()

    def peak_stored(self) -> int:
        """The highest-scored stored slice (index; -1 without scores)."""
        return int(np.argmax(self.stored)) if self.stored.size else -1

    def peak_displayed(self) -> int:
        """The displayed slice (index) that shows the highest-scored stored slice (-1: none)."""
        s = self.peak_stored()
        return -1 if s < 0 else int(np.clip(np.rint(self.stored_at[s]), 0, self.scores.size - 1))

    def slice_words(self, k: int) -> str:
        """Displayed slice ``k`` in words, on the stored slices first: ``"stored slice 23 of 28"``,
        then, for a resampled scan, ``"(displayed slice 101 of 133)"`` or, between two stored
        slices, ``"between stored slices 23 and 24 of 28 (displayed ...)"``."""
        n = self.stored.size
        s = float(self._stored_of[k])
        nearest = int(np.clip(np.rint(s), 0, n - 1))
        if abs(s - nearest) < 1e-3 or not self.resampled:
            words = f"stored slice {nearest + 1} of {n}"
        else:
            below = int(np.clip(np.floor(s), 0, n - 2))
            words = f"between stored slices {below + 1} and {below + 2} of {n}"
        return words + (f" (displayed slice {k + 1} of {self.scores.size})" if self.resampled else "")

    def set_question(self, text: str) -> None:
        """Name the question the scores belong to ("" for none)."""
        self.question = text
        self.changed.emit()

    def set_current(self, index: int) -> None:
        """Mark axial slice ``index`` as the one in view."""
        if index != self.current:
            self.current = index
            self.changed.emit()
