"""Events of the viewer's models: plain Python callbacks, no Qt (as napari's evented models and
psygnal's signals). A model emits on the UI thread; the widgets that observe it connect here."""

from __future__ import annotations

from typing import Callable


class Event:
    """Callbacks run in the order they were connected, each with the emitted arguments."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., object]] = []

    def connect(self, callback: Callable[..., object]) -> None:
        """Run ``callback`` on every emit from now on."""
        self._callbacks.append(callback)

    def emit(self, *args: object) -> None:
        """Run every callback with ``args`` (a callback connected meanwhile waits for the next)."""
        for callback in list(self._callbacks):
            callback(*args)
