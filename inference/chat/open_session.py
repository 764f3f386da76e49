"""One way to open a session for any bundle kind (the CLI, batch and the viewer use it)."""

from __future__ import annotations

from ..bundle import SLICE_SET, Bundle
from .scan_cache import ScanCache
from .session import ChatSession


def open_session(bundle: Bundle, device: str = "auto", n_threads: int | None = None,
                 scan_cache: ScanCache | None = None, slices: int | None = None,
                 exact_attention: bool = False) -> ChatSession:
    """A :class:`ChatSession` for a native-3D bundle, a
    :class:`~inference.chat.slice_session.SliceSetSession` for a slice-set bundle.

    ``slices``: the slice budget of a slice-set bundle (``--slices``); a 3D model's input is
    fixed by its recipe, so it is ignored there.
    """
    if bundle.kind == SLICE_SET:
        from .slice_session import SliceSetSession

        return SliceSetSession(bundle, device=device, n_threads=n_threads, scan_cache=scan_cache,
                               slices=slices, exact_attention=exact_attention)
    return ChatSession(bundle, device=device, n_threads=n_threads, scan_cache=scan_cache,
                       exact_attention=exact_attention)
