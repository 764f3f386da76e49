"""Headless core of ctchat: CT I/O, preprocessing, models, the LLM bridge, the chat session, CLI.

Nothing in this package imports Qt or VTK (enforced by an import-linter contract in
``pyproject.toml`` and by ``tests/test_architecture.py``).
"""

import os

# ctchat makes no network calls, and two of its libraries report by default; both switches are
# set before either is imported (every package of ctchat imports this one first), overriding
# inherited values (tests/test_offline.py):
# - ONNX Runtime (1.29 and later) starts a telemetry uploader on Linux and macOS, with a device
#   id and an event store under ~/.cache/Microsoft;
# - a Ray cluster that ctchat starts (``ray.init`` with no running cluster to join) reports
#   usage stats to usage-stats.ray.io every hour.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

__version__ = "0.1.0"
