"""A slice-set bundle of the tiny random Gemma 3 (tests/slices/fixture_gemma3.py), made with
llama.cpp's own converter and a manifest written here, independent of ``ctchat convert``
(which has its own tests), so that the runtime, CLI and viewer tests share one small bundle.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fixture_gemma3 import write_gemma3

from inference.bundle import SLICE_SET, write_manifest
from inference.slices.prompt import SlicePromptFormat
from inference.slices.recipe import SliceRecipe

TASKS = {"open": "{question}", "report": "Write the findings of these CT slices.",
         "yes_no": "Is there {disease} in these CT slices? Answer yes or no.",
         "choice": "{question} Choose one: {choices}"}


def convert_pair(source: Path, out: Path) -> tuple[Path, Path]:
    """The text GGUF (f32: exact) and the f16 projector of a Gemma 3 folder, by llama.cpp's converter."""
    from convert.llama_cpp_sources import CONVERTER_SCRIPT, converter_dir

    script = converter_dir() / CONVERTER_SCRIPT
    text, projector = out / "model.gguf", out / "mmproj.gguf"
    out.mkdir(parents=True, exist_ok=True)
    for args in (["--outtype", "f32", "--outfile", str(text)], ["--outtype", "f16", "--mmproj", "--outfile", str(projector)]):
        subprocess.run([sys.executable, str(script), str(source), *args], cwd=script.parent, check=True,
                       capture_output=True)
    return text, projector


def make_tiny_bundle(root: Path, recipe: SliceRecipe | None = None, trained: bool = False, **gemma) -> Path:
    """Write the folder (``gemma``: :func:`write_gemma3`'s sizes), convert it and write a
    slice-set bundle into ``root / "bundle"``."""
    source = root / "source"
    write_gemma3(source, **gemma)
    bundle = root / "bundle"
    convert_pair(source, bundle)
    write_manifest(bundle, {
        "kind": SLICE_SET, "name": "tiny-gemma3-slices", "version": "1", "licence": "tests only",
        "intended_use": "tests", "training": {"trained": trained},
        "llm": {"file": "model.gguf", "type": "f32"}, "projector": {"file": "mmproj.gguf", "type": "f16"},
        "slice_recipe": (recipe or SliceRecipe(max_slices=6)).to_dict(),
        "slice_prompt": SlicePromptFormat().to_dict(),
        "prompt_format": {"tasks": TASKS, "stop": []},
    }, files=[])
    return bundle
