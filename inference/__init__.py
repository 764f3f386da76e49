"""Headless core of ctchat: CT I/O, preprocessing, models, the LLM bridge, the chat session, CLI.

Nothing in this package imports Qt or VTK (enforced by an import-linter contract in
``pyproject.toml`` and by ``tests/test_architecture.py``).
"""

__version__ = "0.1.0"
