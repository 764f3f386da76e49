"""What a slice-set bundle's manifest says: the model family's slice recipe and image markers,
its licence, its trained scope and how each task is asked.

A Gemma 3 model gets MedGemma 1.5's published CT recipe (:class:`~inference.slices.recipe.SliceRecipe`'s
defaults) and Gemma 3's image markers; MedGemma itself also gets its trained scope. Any other
llama.cpp vision family gets ctchat's own declared recipe (one soft-tissue window in all three
channels), and its notice says that the recipe is ctchat's, not the authors'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from inference.bundle import SLICE_SET, TrainedScope
from inference.llm.gguf_header import GGUFHeader
from inference.llm.prompt import PromptFormat
from inference.slices.prompt import SlicePromptFormat
from inference.slices.recipe import SliceRecipe

from .bundle_out import source_licence

GEMMA3 = "gemma3"  # llama.cpp's text architecture of Gemma 3 (and MedGemma)
HAI_DEF = "health-ai-developer-foundations"
HAI_DEF_TERMS = "Health AI Developer Foundations terms of use"
NOT_MEDICAL = "Not a medical device; not for diagnosis."

# ctchat's recipe for a llama.cpp vision family whose authors published none for CT: one
# soft-tissue window in all three channels, at most 32 slices
DEFAULT_WINDOW = (-160.0, 240.0)
DEFAULT_RECIPE_SOURCE = "ctchat's default for llama.cpp vision models without a published CT recipe"
GENERIC_INSTRUCTION = ("These images are axial slices of one CT scan, from inferior to superior, each followed "
                       "by its number. Review them carefully.")
# what each family's chat template writes for an image, and what llama.cpp's mtmd puts around
# the image tokens (mtmd.cpp); a family not listed gets mtmd's own marker and nothing around it
IMAGE_MARKERS = {
    GEMMA3: SlicePromptFormat(),
    "qwen2vl": SlicePromptFormat("<|vision_start|><|image_pad|><|vision_end|>", "<|vision_start|>", "<|vision_end|>"),
}
GENERIC_MARKER = SlicePromptFormat("<__media__>", "", "")

TASKS = {
    "open": "{question}",
    "yes_no": "Is there {disease} in these CT slices? Answer yes or no.",
    # {choices} is PromptFormat's list of options ("A. left B. right"); the answer names one
    "choice": "{question} Choices: {choices}\nAnswer with the letter and the text of one choice.",
    "report": "Write the findings of this CT scan as a radiology report.",
}
# llama.cpp's llama_ftype numbers (llama.h) -> the type names ctchat's --quant uses
FILE_TYPES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 7: "q8_0", 8: "q5_0", 9: "q5_1", 10: "q2_k",
              11: "q3_k_s", 12: "q3_k_m", 13: "q3_k_l", 14: "q4_k_s", 15: "q4_k_m", 16: "q5_k_s",
              17: "q5_k_m", 18: "q6_k", 32: "bf16"}


@dataclass(frozen=True)
class SliceSetFacts:
    """What the converter learnt about a slice-set source, for its manifest.

    Attributes:
        folder: the source folder (only its name and model card are read here).
        source_format: ``"safetensors"`` or ``"gguf"``.
        source_files: ``{file name: SHA-256}`` of each source file used.
        text: the header of the bundle's text GGUF.
        projector: the header of the bundle's projector GGUF.
        llm_type: the text GGUF's type (``"q4_k_m"`` ...).
        llm_sha256, projector_sha256: the two GGUFs' SHA-256.
    """

    folder: Path
    source_format: str
    source_files: dict[str, str]
    text: GGUFHeader
    projector: GGUFHeader
    llm_type: str
    llm_sha256: str
    projector_sha256: str

    @property
    def architecture(self) -> str:
        return self.text.architecture

    @property
    def is_medgemma(self) -> bool:
        """A MedGemma (its name, or the HAI-DEF terms it is published under), not any Gemma 3."""
        names = (self.folder.name, str(self.text.fields.get("general.name", "")),
                 str(self.text.fields.get("general.basename", "")))
        licence = str(self.text.fields.get("general.license.name", ""))
        return self.architecture == GEMMA3 and (any("medgemma" in n.lower() for n in names) or HAI_DEF in licence
                                                or HAI_DEF in _card(self.folder))


def file_type_name(header: GGUFHeader) -> str:
    """A text GGUF's type from its ``general.file_type`` (``"unknown"`` when it has none)."""
    ftype = header.fields.get("general.file_type")
    if ftype is None:
        return "unknown"
    return FILE_TYPES.get(int(ftype), f"llama.cpp file type {int(ftype)}")


def _card(folder: Path) -> str:
    card = folder / "README.md"
    return card.read_text(encoding="utf-8", errors="replace") if card.is_file() else ""


def slice_licence(folder: Path, text: GGUFHeader) -> str:
    """The source's licence: its model card's or LICENSE file's (the HAI-DEF terms named as
    such), else the text GGUF's ``general.license`` (a published pair often comes without a card)."""
    card = _card(folder)
    named = re.search(r"^license_name:\s*(\S+)\s*$", card, re.MULTILINE)
    where = "the source's model card" if named else "the model GGUF's metadata"
    if (named.group(1) if named else text.fields.get("general.license.name")) == HAI_DEF:
        return f"{HAI_DEF_TERMS} (https://developers.google.com/health-ai-developer-foundations/terms), from {where}"
    stated_in_folder = card or any((folder / n).is_file() for n in ("LICENSE", "LICENSE.txt", "LICENSE.md"))
    if stated_in_folder or not text.fields.get("general.license"):
        return source_licence(folder)
    name = text.fields.get("general.license.name")
    return f"{text.fields['general.license']}{f' ({name})' if name else ''} (from the model GGUF's metadata)"


def slice_recipe_for(facts: SliceSetFacts) -> SliceRecipe:
    """MedGemma 1.5's recipe for Gemma 3; ctchat's declared default for the other families."""
    if facts.architecture == GEMMA3:
        return SliceRecipe()
    fields = facts.projector.fields
    image_size = int(fields.get("clip.vision.image_size", 0) or 0)
    patch = int(fields.get("clip.vision.patch_size", 0) or 0)
    merge = int(fields.get("clip.vision.spatial_merge_size", 0) or 0) or (2 if facts.architecture == "qwen2vl" else 1)
    # an estimate that sizes the context: the patch grid of one image after the projector's merge
    tokens = (image_size // patch) ** 2 // merge ** 2 if image_size and patch else 256
    return SliceRecipe(max_slices=32, sampling="medgemma_equidistant", windows=(DEFAULT_WINDOW,) * 3,
                       label="SLICE {k}", instruction=GENERIC_INSTRUCTION, image_size=image_size or 896,
                       tokens_per_image=max(tokens, 1), source=DEFAULT_RECIPE_SOURCE)


def slice_prompt_for(architecture: str) -> SlicePromptFormat:
    """How the family's chat template and llama.cpp's mtmd write an image."""
    return IMAGE_MARKERS.get(architecture, GENERIC_MARKER)


def prompt_format() -> dict:
    """The manifest's ``prompt_format``: the task prompts (the chat template does the rest)."""
    fmt = PromptFormat(tasks=dict(TASKS), stop=(), choice_answer="letter_first")
    return {"tasks": dict(fmt.tasks), "stop": list(fmt.stop), "choice_answer": fmt.choice_answer}


def medgemma_scope(licence: str) -> TrainedScope:
    """MedGemma 1.5's scope, as its model card and report state it, in words."""
    terms = HAI_DEF_TERMS if licence.startswith(HAI_DEF_TERMS) else licence
    return TrainedScope(
        declared=True,
        tasks=tuple(TASKS),
        question_kinds=("open questions about a CT, answered in free text",
                        "yes/no and multiple-choice questions about findings",
                        "a findings report of the slices it is shown"),
        findings=("findings of CT reports (no fixed list)",),
        body_region="various (CT of many body regions)",
        input="CT given as up to 85 axial slices rendered in three HU windows (MedGemma 1.5's CT recipe)",
        limits=("not a medical device, not for diagnosis",
                "it sees 2D slices: no 3D context beyond the slices sent",
                f"use under its terms: {terms}"),
        negative_caveat="a 'no' or a normal report covers only the slices sent, not the whole scan",
    )


def manifest_for(facts: SliceSetFacts, llm_file: str, projector_file: str) -> dict:
    """The bundle's manifest (``files`` is added by :func:`~inference.bundle.write_manifest`)."""
    licence = slice_licence(facts.folder, facts.text)
    recipe = slice_recipe_for(facts)
    title = "MedGemma, a Gemma 3 vision model" if facts.is_medgemma else f"a {facts.architecture} vision model"
    made = ("converted on this machine from its published safetensors" if facts.source_format == "safetensors"
            else "made on this machine from its published GGUF files, used as published")
    notice = f"{facts.folder.name} ({title}; {facts.llm_type}), {made}. {NOT_MEDICAL}"
    if facts.architecture != GEMMA3:
        notice += " The slice recipe is ctchat's default, not the model authors'."
    elif not facts.is_medgemma:
        notice += " The slice recipe is MedGemma 1.5's, not this model's authors'."
    manifest = {
        "kind": SLICE_SET,
        "name": re.sub(r"[^a-z0-9.]+", "-", facts.folder.name.lower()).strip("-") or facts.architecture,
        "version": "1",
        "licence": licence,
        "notice": notice,
        "intended_use": f"Research use of {facts.folder.name} ({title}) as its authors published it, given a CT "
                        f"as rendered axial slices; slice recipe: {recipe.source}. {NOT_MEDICAL}",
        "source": {"folder_name": facts.folder.name, "format": facts.source_format,
                   "files": dict(sorted(facts.source_files.items()))},
        "training": {"trained": True, "published": True},
        "llm": {"file": llm_file, "sha256": facts.llm_sha256, "type": facts.llm_type,
                "architecture": facts.architecture, "embedding_length": facts.text.embedding_length},
        "projector": {"file": projector_file, "sha256": facts.projector_sha256,
                      "type": file_type_name(facts.projector), "projection_dim": facts.projector.projection_dim},
        "slice_recipe": recipe.to_dict(),
        "slice_prompt": slice_prompt_for(facts.architecture).to_dict(),
        "prompt_format": prompt_format(),
    }
    if facts.is_medgemma:  # other models' CT training is unknown: their scope stays undeclared
        manifest["trained_scope"] = medgemma_scope(licence).to_dict()
    return manifest
