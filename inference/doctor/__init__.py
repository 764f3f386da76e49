"""``ctchat doctor``: what this machine will run and why, one check per line, a hint for each
problem. The runtime's own checks are in :mod:`.checks`; the viewer adds its (Qt, VTK, OpenGL)
through the ``ctchat.doctor`` entry-point group, each run in a child process (:mod:`.sections`)
so a driver that crashes cannot take the doctor down, and the runtime never imports Qt."""

from .check import Check, FAIL, OK, WARN

__all__ = ["Check", "FAIL", "OK", "WARN"]
