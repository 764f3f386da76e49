"""The one error of ``ctchat pull`` and ``ctchat models``."""

from __future__ import annotations


class PullError(Exception):
    """A pull or a models action that cannot go on; ``str(err)`` is one sentence saying what
    happened and what to do (the commands print it, never a traceback)."""
