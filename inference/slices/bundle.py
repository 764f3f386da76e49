"""Slice-set bundles: a llama.cpp vision model (text GGUF + its ``mmproj`` projector) with the
recipe that turns a CT into the slices it is given.

Manifest (``kind: "slice_set"``)::

    {"kind": "slice_set", "name": ..., "version": ..., "licence": ..., "notice": ...,
     "llm": {"file": "model.gguf", "sha256": ..., "type": "q4_k_m"},
     "projector": {"file": "mmproj.gguf", "sha256": ..., "type": "f16"},
     "slice_recipe": {...},            # inference.slices.recipe.SliceRecipe
     "slice_prompt": {...},            # inference.slices.prompt.SlicePromptFormat
     "prompt_format": {"tasks": ..., "stop": ...},   # how each task is asked
     "trained_scope": {...}, "source": {...}, "files": {...}}

The GGUFs are hashed only on request (``verify_llm``): a 3 GB file takes seconds to hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bundle import SLICE_SET, BundleError, BundleInfo, sha256_file
from ..llm.gguf_header import GGUFHeader, read_gguf_header
from ..llm.prompt import PromptFormat
from .prompt import SlicePromptFormat
from .recipe import SliceRecipe


@dataclass
class SliceSetBundle(BundleInfo):
    """A loaded slice-set bundle (see the module docstring)."""

    root: Path
    manifest: dict[str, Any]
    slice_recipe: SliceRecipe
    slice_prompt: SlicePromptFormat
    prompt: PromptFormat
    llm_path: Path
    projector_path: Path
    lora_path: Path | None = None

    kind = SLICE_SET
    question_graph = None  # no TG-IS: slice attention comes from occlusion, not a graph

    def summary(self) -> dict[str, Any]:
        """What a reader needs to know about the model behind an answer."""
        return {**self.common_summary(), "slice_attention": False, "projector": self.projector_path.name,
                "input_recipe": self.slice_recipe.to_dict(), "input_recipe_words": self.slice_recipe.describe()}


def load_slice_bundle(root: Path, manifest: dict[str, Any], verify_llm: bool = False) -> SliceSetBundle:
    """Check a slice-set manifest's files and read its parts (see :func:`inference.bundle.load_bundle`).

    Raises:
        BundleError: a file missing, damaged or not a GGUF, a projector whose width is not the
            text model's, or a recipe this ctchat cannot read (one sentence each).
    """
    paths = {}
    for part in ("llm", "projector"):
        entry = manifest.get(part) or {}
        if not entry.get("file"):
            raise BundleError(f"{root.name}: the manifest names no {part} file")
        path = root / entry["file"]
        if not path.is_file():
            what = "vision projector (mmproj)" if part == "projector" else "language model"
            raise BundleError(f"{root.name}: its {what} {entry['file']} is missing")
        if verify_llm and entry.get("sha256") and sha256_file(path) != entry["sha256"]:
            raise BundleError(f"{root.name}: {entry['file']} does not match its SHA-256 in the manifest (damaged?)")
        paths[part] = path
    check_pair(paths["llm"], paths["projector"])
    try:
        recipe = SliceRecipe.from_dict(manifest["slice_recipe"])
        fmt = SlicePromptFormat.from_dict(manifest.get("slice_prompt", {}))
        prompt = PromptFormat.from_dict(manifest.get("prompt_format", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{root.name}: its slice recipe cannot be read ({exc})") from exc
    return SliceSetBundle(root, manifest, recipe, fmt, prompt, paths["llm"], paths["projector"])


def check_pair(llm: Path, projector: Path) -> tuple[GGUFHeader, GGUFHeader]:
    """Read both GGUFs' headers and check that they belong together, before llama.cpp opens
    them (llama.cpp aborts the process on some damaged files rather than failing).

    Raises:
        BundleError: either file is not a whole GGUF, the projector is a text model or the text
            model a projector, or the projector's output width is not the text model's width.
    """
    try:
        text, vision = read_gguf_header(llm), read_gguf_header(projector)
    except ValueError as exc:
        raise BundleError(str(exc)) from exc
    if text.is_projector:
        raise BundleError(f"{llm.name} is a vision projector (mmproj), not the language model")
    if not vision.is_projector:
        raise BundleError(f"{projector.name} is not a vision projector (mmproj): it holds a "
                          f"{vision.architecture or 'model'}; give the mmproj GGUF published beside the model")
    if vision.projection_dim and text.embedding_length and vision.projection_dim != text.embedding_length:
        raise BundleError(f"{projector.name} makes image tokens {vision.projection_dim} wide but {llm.name} is "
                          f"{text.embedding_length} wide: it is another model's projector")
    return text, vision
