"""ONNX Runtime, imported the one way ctchat imports it: with its telemetry switched off.

ctchat makes no network calls, and ONNX Runtime (1.29 and later) starts a telemetry uploader on
Linux and macOS, with a device id and an event store under ``~/.cache/Microsoft``, unless
``ORT_DISABLE_TELEMETRY`` is set before its first import. This module sets it (overriding an
inherited value) and then imports ONNX Runtime; every module of ctchat takes ONNX Runtime from
here (an import-linter contract in ``pyproject.toml`` forbids any other import of it; checked
end to end by ``tests/test_offline.py``). A child process that ctchat starts inherits the switch
from the environment. An install without ONNX Runtime (no ``[cpu]`` or ``[gpu]`` extra) gets
:class:`~inference.missing_extra.MissingExtra`, whose message names the extra to install.

Example:
    >>> from inference.ort import onnxruntime as ort                 # doctest: +SKIP
    >>> quantization = ort_tool("quantization")                      # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from .missing_extra import MissingExtra

os.environ["ORT_DISABLE_TELEMETRY"] = "1"

try:
    import onnxruntime  # noqa: E402  (after the switch: it is read at import)
except ImportError as exc:  # installed without the [cpu] or [gpu] extra, or a broken install
    _absent = isinstance(exc, ModuleNotFoundError) and exc.name == "onnxruntime"
    raise MissingExtra(
        f"ONNX Runtime {'is not installed' if _absent else f'cannot be loaded ({exc})'}: "
        'pip install "ctchat[cpu]" installs it (or "ctchat[gpu]" on a machine with an NVIDIA GPU)'
    ) from exc

__all__ = ["onnxruntime", "ort_tool"]


def ort_tool(name: str) -> ModuleType:
    """One of ONNX Runtime's tool packages, ``onnxruntime.<name>`` (e.g. ``"quantization"``,
    ``"transformers.optimizer"``), imported after the switch like ONNX Runtime itself.

    They are imported only on demand: they import ``onnx``, which the runtime never needs.
    """
    return importlib.import_module(f"{onnxruntime.__name__}.{name}")
