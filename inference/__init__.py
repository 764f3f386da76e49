"""Headless core of ctchat: CT I/O, preprocessing, models, the LLM bridge, the chat session, CLI.

Nothing in this package imports Qt or VTK (enforced by an import-linter contract in
``pyproject.toml`` and by ``tests/test_architecture.py``). ctchat makes no network calls: the
two libraries that would report by default are switched off where they are imported, ONNX
Runtime in :mod:`inference.ort` and Ray in :mod:`inference.batch.ray_backend`.
"""

__version__ = "0.1.0"
