"""Import, ahead of time, every module a chat session imports on first use: a
:class:`~.session.ChatSession` (a native-3D bundle) and a
:class:`~.slice_session.SliceSetSession` (a slice-set bundle), as :func:`~.open_session` opens them.

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
    "encodings.cp437",  # a scan cache hit: zipfile decodes the entry's member names with it
    "inference.chat.slice_attention",
    "inference.llm.text_vector",
    "inference.vision.question_text",
    # a slice-set bundle: its loader and session, imported for that kind only (by load_bundle and
    # open_session), with what they import at their top (inference.slices.*, inference.llm.projector, ...)
    "inference.slices.bundle",
    "inference.chat.slice_session",
    "llama_cpp.mtmd_cpp",  # the vision projector's library, imported when the projector loads
    "encodings.unicode_escape",  # jinja2 decodes the chat template's string literals with it
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
