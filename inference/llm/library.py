"""llama-cpp-python's ctypes bindings, loaded once, with llama.cpp's log kept quiet, and the
check that a file is a GGUF before llama.cpp opens it. Shared by the runtime and the vocabulary."""

from __future__ import annotations

import ctypes
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..missing_extra import MissingExtra
from .errors import LLMError

GGUF_MAGIC = b"GGUF"
LLM_EXTRA = '"ctchat[llm]"'  # the extra that installs llama-cpp-python (as pip's command line spells it)
_LOG_CALLBACK = None  # llama.cpp keeps a raw pointer to it: the Python object must stay alive
_CAPTURED: list[str] | None = None  # the log text while captured_log() is active
_CAPTURE_LOCK = threading.Lock()


class LlamaCppMissing(MissingExtra, LLMError):
    """llama-cpp-python (or its multimodal library) cannot be imported: the one sentence naming
    what installs it, as every missing extra says. An :class:`LLMError` too, so code that takes
    any llama.cpp failure as the LLM's (``ctchat doctor``'s llama.cpp check) goes on doing so."""


def quiet_callback():
    """The log callback ctypes object llama.cpp's (and mtmd's) log goes through (set by
    :func:`llama_library`)."""
    llama_library()
    return _LOG_CALLBACK


def llama_library():
    """The ``llama_cpp`` bindings, imported lazily (loading libllama takes a moment), with the
    backend initialised and llama.cpp's log silenced (``CTCHAT_LLAMA_LOG=1`` shows it)."""
    global _LOG_CALLBACK
    try:
        import llama_cpp as ll
    except (ImportError, OSError, RuntimeError) as exc:  # no [llm] extra, or a libllama that cannot load
        absent = isinstance(exc, ModuleNotFoundError) and exc.name == "llama_cpp"
        raise LlamaCppMissing(
            f"llama-cpp-python {'is not installed' if absent else f'cannot be loaded ({exc})'}: "
            f"bash scripts/install.sh builds and installs it (or pip install {LLM_EXTRA}, which builds it from source)"
        ) from exc
    if _LOG_CALLBACK is None:

        @ll.llama_log_callback
        def _quiet(level, text, user_data):  # noqa: ANN001 - C callback signature
            if _CAPTURED is not None:
                _CAPTURED.append(text.decode("utf-8", "replace"))
            if os.environ.get("CTCHAT_LLAMA_LOG"):
                print(text.decode("utf-8", "replace"), end="", flush=True)

        _LOG_CALLBACK = _quiet
        ll.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))
        ll.llama_backend_init()
    return ll


@contextmanager
def captured_log() -> Iterator[list[str]]:
    """Collect llama.cpp's log lines while the block runs (e.g. where a model's layers went);
    one capture at a time."""
    global _CAPTURED
    with _CAPTURE_LOCK:
        chunks: list[str] = []
        _CAPTURED = chunks
        lines: list[str] = []
        try:
            yield lines
        finally:
            _CAPTURED = None
            lines.extend("".join(chunks).splitlines())


def check_gguf_file(path: Path, what: str) -> None:
    """Raise :class:`LLMError` with a sentence unless ``path`` is a readable GGUF file."""
    if not path.is_file():
        raise LLMError(f"{what} file not found: {path}")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise LLMError(f"{what} file cannot be read: {path} ({exc.strerror})") from exc
    if magic != GGUF_MAGIC:
        raise LLMError(f"{path.name} is not a GGUF file (the {what} must be a .gguf)")
