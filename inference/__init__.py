"""Headless core of ctchat: CT I/O, preprocessing, models, the LLM bridge, the chat session, CLI.

Nothing in this package imports Qt or VTK (enforced by an import-linter contract in
``pyproject.toml`` and by ``tests/test_architecture.py``).
"""

import os

# ctchat makes no network calls. ONNX Runtime (1.29 and later) starts a telemetry uploader on
# Linux and macOS, with a device id and an event store under ~/.cache/Microsoft, unless this is
# set before it is first imported; an inherited "0" is overridden too. Every package of ctchat
# imports this one first (tests/test_offline.py).
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
