"""The repositories the pull tests serve, by name (their bytes come from conftest.py's fixtures)."""

from __future__ import annotations

from pathlib import Path

SAFETENSORS_REPO = "tester/medgemma-tiny"  # the tiny Gemma 3 folder, as MedGemma 1.5 is published
SAFETENSORS_NAME = "medgemma-tiny"  # what it is installed as
GGUF_REPO = "tester/medgemma-tiny-GGUF"  # as llama.cpp GGUF pairs are published
GGUF_NAME = "medgemma-tiny-gguf-q8_0"  # installed from GGUF_REPO:Q8_0
TEXT_Q8, TEXT_F32, PROJECTOR = "medgemma-tiny-Q8_0.gguf", "medgemma-tiny-F32.gguf", "mmproj-medgemma-tiny-F16.gguf"
CARD = b"---\nlicense: other\nlicense_name: health-ai-developer-foundations\n---\n# tiny GGUF pair (tests only)\n"


def folder_files(folder: Path) -> dict[str, bytes]:
    """``{path in the folder: bytes}`` of every file under ``folder``."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
