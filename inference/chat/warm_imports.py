"""Import, ahead of time, every module a :class:`~.session.ChatSession` imports on first use.

An import holds the GIL for tens of milliseconds at a stretch (unmarshalling a large module,
initialising an extension): done in a model's worker thread while a window is up, it stalls
the window's thread for as long (51 ms, measured, when ``gguf`` was first imported by a
question's slice scores). A GUI calls :func:`import_model_modules` on its own thread before it
shows its window, so the worker never imports while the window is up; a headless caller needs
nothing of this.
"""

from __future__ import annotations

import importlib

# What the session, its bundle loader, the vision and LLM runtimes and the slice scores import
# inside functions (checked by tests/test_warm_imports.py).
MODEL_MODULES = (
    "numpy.ctypeslib",  # numpy imports these on first use: the logits' view of llama.cpp's buffer
    "numpy.ma",
    "inference.ort",  # ONNX Runtime, through the module that switches its telemetry off
    "llama_cpp",
    "gguf",
    "tokenizers",
    "inference.bundle",
    "inference.chat.scan_cache",
    "inference.chat.slice_attention",
    "inference.llm.text_vector",
    "inference.vision.question_text",
)


def import_model_modules() -> None:
    """Import :data:`MODEL_MODULES` (about 1 s once, nothing afterwards).

    A module that cannot be imported (its extra is not installed) is left out: the session
    imports it when it starts, and fails there with the sentence naming the extra to install,
    which the viewer shows where the chat would be.
    """
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
