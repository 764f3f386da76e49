"""A slice-set bundle of the tiny random Gemma 3 (tests/slices/fixture_gemma3.py), made with
llama.cpp's own converter and a manifest written here, independent of ``ctchat convert``
(which has its own tests), so that the runtime, CLI and viewer tests share one small bundle.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

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


# The converted pairs of this test process, by the Gemma 3 sizes asked for: converting takes about
# 10 s (llama.cpp's converter, twice), the recipe and manifest change nothing in the GGUFs, and each
# bundle gets its own copy (a test may damage its files).
_CONVERTED: dict[tuple, tuple[Path, Path]] = {}
_STORE: list[Path] = []


def _converted(gemma: dict) -> tuple[Path, Path]:
    key = tuple(sorted(gemma.items()))
    if key not in _CONVERTED:
        if not _STORE:
            _STORE.append(Path(tempfile.mkdtemp(prefix="tiny_gemma3_")))
            atexit.register(shutil.rmtree, _STORE[0], True)
        from fixture_gemma3 import write_gemma3  # torch: only once a bundle is really made

        folder = _STORE[0] / str(len(_CONVERTED))
        write_gemma3(folder / "source", **gemma)
        _CONVERTED[key] = convert_pair(folder / "source", folder / "gguf")
    return _CONVERTED[key]


def _need_train_extra() -> None:
    """Skip the test where the train extra (torch, transformers), which writes the random Gemma 3,
    is not installed."""
    pytest.importorskip("torch", reason="the tiny Gemma 3 is written with torch (the train extra)")
    pytest.importorskip("transformers", reason="the tiny Gemma 3 is written with transformers (the train extra)")


def tiny_bundle_or_skip(root: Path, recipe: SliceRecipe | None = None) -> Path:
    """:func:`make_tiny_bundle`, or skip the test without the train extra."""
    _need_train_extra()
    return make_tiny_bundle(root, recipe)


def medgemma_tiny_or_skip(root: Path) -> Path:
    """The tiny random Gemma 3 folder in MedGemma 1.5's published layout, ``root / "medgemma-tiny"``
    (config, safetensors, tokenizer, card), or skip the test without the train extra."""
    _need_train_extra()
    from fixture_gemma3 import write_gemma3

    folder = root / "medgemma-tiny"
    write_gemma3(folder)
    return folder


def make_tiny_bundle(root: Path, recipe: SliceRecipe | None = None, trained: bool = False, **gemma) -> Path:
    """A slice-set bundle of the tiny Gemma 3 (``gemma``: :func:`write_gemma3`'s sizes) in
    ``root / "bundle"``, its safetensors folder in ``root / "source"``: converted once per process
    and sizes, copied here, its manifest written."""
    bundle = root / "bundle"
    bundle.mkdir(parents=True, exist_ok=True)
    text, projector = _converted(gemma)
    for converted in (text, projector):
        shutil.copyfile(converted, bundle / converted.name)
    shutil.copytree(text.parent.parent / "source", root / "source", dirs_exist_ok=True)  # the reference's folder
    write_manifest(bundle, {
        "kind": SLICE_SET, "name": "tiny-gemma3-slices", "version": "1", "licence": "tests only",
        "intended_use": "tests", "training": {"trained": trained},
        "llm": {"file": "model.gguf", "type": "f32"}, "projector": {"file": "mmproj.gguf", "type": "f16"},
        "slice_recipe": (recipe or SliceRecipe(max_slices=6)).to_dict(),
        "slice_prompt": SlicePromptFormat().to_dict(),
        "prompt_format": {"tasks": TASKS, "stop": []},
    }, files=[])
    return bundle
