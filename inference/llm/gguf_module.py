"""The ``gguf`` package (the llm extra installs it), or the one sentence that says how to install it."""

from __future__ import annotations

from ..missing_extra import MissingExtra

try:
    import gguf
except ImportError as exc:  # installed without the llm extra, or a broken install
    _absent = isinstance(exc, ModuleNotFoundError) and exc.name == "gguf"
    raise MissingExtra(
        f"the gguf package {'is not installed' if _absent else f'cannot be loaded ({exc})'}: "
        'pip install "ctchat[llm]" installs it (bash scripts/install.sh does too)'
    ) from exc

__all__ = ["gguf"]
