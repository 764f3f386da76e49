"""The one error a PACS operation raises: a sentence a user can act on."""

from __future__ import annotations

from ..missing_extra import MissingExtra


class PacsError(Exception):
    """A PACS node could not be reached, refused us, or a transfer failed; ``str(err)`` is one
    sentence saying which and what to do. Images already received stay in the cache."""


def needs_extra(package: str) -> MissingExtra:
    """The sentence for a missing package of the ``pacs`` extra (raised from the ImportError)."""
    return MissingExtra(f"PACS access needs {package}, which is not installed: pip install \"ctchat[pacs]\"")
