"""The error for a package that one of ctchat's optional extras installs and this install lacks."""

from __future__ import annotations


class MissingExtra(ImportError):
    """A package of an extra cannot be imported; ``str(err)`` says, in one sentence, which extra
    to install.

    An :class:`ImportError`, so code that already takes a missing package as absent (``ctchat
    doctor``, a plugin command) goes on doing so; the command line and the viewer's chat show
    the sentence.
    """
