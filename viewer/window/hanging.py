"""The hanging protocol in the window: the second axial view (its own window) and, as each scan
opens, the layout and windows of :mod:`viewer.models.hanging` for the region it shows.

The protocol only arranges the first look: a layout or window the reader chooses afterwards
sets :attr:`HangingState.arranged_by_reader`, and later scans keep the reader's layout.
"""

from __future__ import annotations

from typing import Callable

from vtkmodules.vtkCommonDataModel import vtkImageData

from inference.body_region import scan_region

from ..models.hanging import SECOND_AXIAL, HangingState, preset_window
from ..models.layout import ViewLayout
from ..models.planes import AXIAL
from ..models.reading import LoadedScan, ReadingState
from ..models.window_level import WindowLevel
from ..views.own_window_view import OwnWindowSliceView

SetWindow = Callable[..., None]  # MainWindow.set_window(window, render=...)


class Hanging:
    """Owns the second axial view and applies the protocol to ``layout`` (the window's layout
    state) when a scan opens."""

    def __init__(self, reading: ReadingState, layout: ViewLayout, enabled: bool = True) -> None:
        self.reading = reading
        self.state = HangingState(enabled)
        self.view = OwnWindowSliceView(AXIAL, reading, preset_window("Mediastinum"))
        self.view.setObjectName(f"{SECOND_AXIAL}_view")
        self.view.windowDragged.connect(lambda _dx, _dy: self.state.reader_arranged())
        self._layout = layout
        self._hung_layout: str | None = None  # the layout the protocol chose last
        self._applying = False  # True while the protocol itself changes the layout and window
        reading.window_changed.connect(self._on_window_changed)
        layout.changed.connect(self._on_layout_changed)

    def open_scan(self, scan: LoadedScan, image: vtkImageData, set_window: SetWindow) -> None:
        """Show ``scan`` (its VTK ``image``) in the second view and hang it: the protocol's layout
        and windows, or the scan's opening window alone when the protocol is off or the reader
        has arranged the views."""
        vol = scan.volume
        self.view.set_image(image, vol.shape, vol.orientation, vol.affine)
        region = scan.region if scan.region is not None else scan_region(vol)
        protocol = self.state.protocol(region)
        self._applying = True
        try:
            set_window((protocol.window if protocol else None) or scan.window, render=False)
            if protocol is not None:
                if protocol.second_window is not None:
                    self.view.set_own_window(protocol.second_window)
                self._hung_layout = protocol.layout
                self._layout.set_layout(protocol.layout, "axial")
        finally:
            self._applying = False
        self.view.render_now()

    def _on_layout_changed(self, name: str) -> None:
        # Maximising a view and restoring it keeps the layout's name: not a choice of layout.
        if not self._applying and name != self._hung_layout:
            self.state.reader_arranged()

    def _on_window_changed(self, _window: WindowLevel) -> None:
        if not self._applying:
            self.state.reader_arranged()
