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


class SliceScores:
    """Scores per displayed axial slice (empty: none), their question ("" for none) and the
    axial slice in view (-1: none marked).

    Event: ``changed()`` after each change.
    """

    def __init__(self) -> None:
        self.scores: np.ndarray = np.zeros(0)
        self.question = ""
        self.current = -1
        self.changed = Event()

    def set_scores(self, scores: Sequence[float] | np.ndarray | None) -> None:
        """Show ``scores``, or none with None."""
        self.scores = np.zeros(0) if scores is None else np.asarray(scores, dtype=np.float64)
        self.changed.emit()

    def set_question(self, text: str) -> None:
        """Name the question the scores belong to ("" for none)."""
        self.question = text
        self.changed.emit()

    def set_current(self, index: int) -> None:
        """Mark axial slice ``index`` as the one in view."""
        if index != self.current:
            self.current = index
            self.changed.emit()
