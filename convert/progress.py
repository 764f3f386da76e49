"""How the long steps of a conversion report progress: one small event type and a callback.

The converter never prints; it calls ``progress(event)``. The CLI prints a line per event,
the app can drive a progress bar, a test can record the events. ``done``/``total`` are in
``unit`` (``"tensors"``, ``"bytes"`` or ``"files"``); ``total`` is 0 while it is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# the steps of an LLM conversion, in order
LLM_FOLDER = "llm_folder"  # the LLM-only Hugging Face folder
GGUF = "gguf"  # llama.cpp's convert_hf_to_gguf.py: f32 or f16 GGUF
QUANTIZE = "quantize"  # llama.cpp's quantiser: q8_0, q4_k_m, ...
SOURCES = "sources"  # unpacking llama.cpp's converter from the llama-cpp-python sdist


@dataclass(frozen=True)
class Progress:
    """One progress report of one step.

    Attributes:
        step: which step (:data:`LLM_FOLDER`, :data:`GGUF`, :data:`QUANTIZE`, :data:`SOURCES`).
        done: units finished so far.
        total: units in the step (0: not known yet).
        unit: what is counted.
        message: one line for a person (e.g. ``"blk.3.ffn_up.weight"``).
        state: ``"running"``, ``"finished"``, or ``"skipped"`` (found complete on disk from an
            earlier run, so not redone).
    """

    step: str
    done: int = 0
    total: int = 0
    unit: str = ""
    message: str = ""
    state: str = "running"

    @property
    def fraction(self) -> float | None:
        """``done / total``, or None while the total is unknown."""
        return self.done / self.total if self.total > 0 else None


ProgressCallback = Callable[[Progress], None]


def no_progress(event: Progress) -> None:
    """The default callback: report nothing."""
