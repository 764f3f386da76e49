"""The hanging protocol: the first look a scan gets by the body region it shows.

A chest opens with two axial views side by side, one in the lung window and one in the
mediastinal window (the two windows a chest CT is read in); a head opens in the brain window
and an abdomen (or any other body) in soft tissue, in the four-up layout. Once the reader has
chosen a layout or a window, the protocol leaves the window as the reader arranged it: later
scans open in their own window but in the reader's layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference.body_region import CHEST

from .layout import LAYOUT_2X2, LAYOUT_LUNG_MEDIASTINUM
from .presets import window_presets
from .window_level import WindowLevel

SECOND_AXIAL = "second_axial"  # the name of the axial view with a window of its own


def preset_window(name: str) -> WindowLevel:
    """The window preset called ``name`` (``Lung``, ``Mediastinum``, ...)."""
    for p in window_presets():
        if p.name == name:
            return WindowLevel(p.width, p.level, p.name)
    raise KeyError(f"no window preset called {name!r}")


@dataclass(frozen=True)
class HangingProtocol:
    """What a scan opens in: a layout, the shared window (None: the scan's opening window,
    :func:`~viewer.models.window_level.opening_window`) and the second axial view's window
    (None: that view is not part of the layout)."""

    layout: str
    window: WindowLevel | None = None
    second_window: WindowLevel | None = None


def protocol_for(region: str) -> HangingProtocol:
    """The protocol for a scan of ``region`` (:func:`inference.body_region.scan_region`).

    A chest gets lung | mediastinum side by side; every other region the four-up in its opening
    window (the brain window for a head, soft tissue for an abdomen), which already follows the
    region and respects a window the file declares.
    """
    if region == CHEST:
        return HangingProtocol(LAYOUT_LUNG_MEDIASTINUM, preset_window("Lung"), preset_window("Mediastinum"))
    return HangingProtocol(LAYOUT_2X2)


class HangingState:
    """Whether the protocol applies to the next scan: on unless switched off (``--hanging off``)
    or the reader has arranged the views since (:meth:`reader_arranged`)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.arranged_by_reader = False

    def reader_arranged(self) -> None:
        """The reader chose a layout or a window: keep it, do not hang the next scan."""
        self.arranged_by_reader = True

    def protocol(self, region: str) -> HangingProtocol | None:
        """The protocol to apply to a scan of ``region``, or None to leave the layout as it is."""
        if not self.enabled or self.arranged_by_reader:
            return None
        return protocol_for(region)
