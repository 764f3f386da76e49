"""Write a bundle of our own models: the ONNX vision graphs, an optional LoRA adapter as GGUF,
and the manifest (:mod:`inference.bundle` reads and verifies it)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from inference.bundle import DEFAULT_LLM_PACKAGE, Bundle, TrainedScope, load_bundle, sha256_file, write_manifest
from inference.llm.model_files import DEFAULT_GGUF_NAME, default_gguf_path
from inference.llm.prompt import PromptFormat, default_tasks
from training.export.lora_gguf import write_lora_gguf
from training.export.onnx_graphs import export_vision
from training.export.scan_variants import add_scan_variant
from training.models.inputs import recipe_for

# What the training stages teach (training/datasets: the lesion, location, size, findings,
# plane, organ and phase questions on chest CT); the default bundle's manifest declares the same.
LESION_QUESTIONS_SCOPE = TrainedScope(
    declared=True,
    tasks=("open", "choice", "yes_no", "report"),
    question_kinds=(
        "whether the lungs hold a nodule or mass (yes/no)",
        "where the nodule or mass is: the side and the third of the lungs (open or multiple choice)",
        "the diameter of the nodule or mass, in mm",
        "a one-sentence findings paragraph about a lung nodule or mass",
        "the scan's plane and its organ system (multiple choice, with the options) and its contrast phase",
    ),
    findings=("solid lung nodule (6-29 mm)", "lung mass (30-40 mm)"),
    yes_no_diseases=("lung nodule",),
    topics=(
        "nodule", "nodules", "mass", "masses", "lesion", "lesions", "tumour", "tumor", "lung",
        "lungs", "abnormality", "abnormal", "where", "location", "located", "side", "diameter",
        "size", "big", "large", "mm", "plane", "organ", "phase", "contrast", "findings", "report",
    ),
    choice_only_topics=("plane", "organ"),  # training/data/synthetic.py asks these as multiple choice only
    body_region="chest CT",
    required_structure="lungs",
    input="",  # from the bundle's recipe, when written
    limits=(
        "It misses small lesions: every held-out lesion under 12 mm and 5 of 13 of 12-20 mm, so a 'no' or "
        "'No other nodule or mass is seen' is not a negative read.",
        "The multiple-choice location question offers no 'none': on a clean scan it still names a place.",
        "Trained on synthetic lesions inserted into two real chest CTs; not a medical device, not for diagnosis.",
    ),
    negative_caveat=("It misses small lesions (every held-out lesion under 12 mm): a 'no' or 'No other nodule or "
                     "mass is seen' is not a negative read."),
)


def input_words(recipe: Any) -> str:
    """The input a recipe feeds the model, in words (the scope's ``input``)."""
    lo, hi = recipe.hu_window
    return (f"CT in Hounsfield units, window [{lo:g}, {hi:g}] HU, resized to "
            f"{' x '.join(str(n) for n in recipe.target_shape_zyx)}")


def write_bundle(
    out: str | Path,
    vision_model: Any,
    name: str,
    version: str,
    training: dict[str, Any],
    lora_pairs: dict | None = None,
    lora_alpha: float | None = None,
    prompt: PromptFormat | None = None,
    scope: TrainedScope | None = None,
    int8: bool = False,
) -> Bundle:
    """Export a torch vision model (and optionally a LoRA adapter) as a bundle with the default LLM.

    ``training`` goes into the manifest as is; it must say whether the weights are trained
    (``"trained"``) and on what. ``prompt``: the format the model was trained with (default:
    the shipped task templates, multiple-choice answers letter first). ``scope``: what it was
    trained to answer (default: the lesion questions for trained weights; nothing for initial ones).
    ``int8``: also write an int8 scan graph for the CPU, kept only when it is within
    its tolerance (:data:`training.export.scan_variants.VARIANTS`) of fp32 on the demo CT.
    """
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    export_vision(vision_model, out)
    cfg = vision_model.cfg
    gguf = default_gguf_path()
    files = ["scan.onnx", "question.onnx"]
    llm: dict[str, Any] = {"package": DEFAULT_LLM_PACKAGE, "file": DEFAULT_GGUF_NAME, "sha256": sha256_file(gguf)}
    if lora_pairs:
        write_lora_gguf(out / "lora.gguf", lora_pairs, alpha=float(lora_alpha), arch="gemma3")
        llm["lora"] = "lora.gguf"
        files.append("lora.gguf")
    manifest = {
        "name": name,
        "version": version,
        "licence": "vision graphs and adapter: Apache-2.0; LLM: Gemma Terms of Use (shipped inside its package)",
        "intended_use": "Demonstration and research only. Not a medical device; not for diagnosis.",
        "training": training,
        "trained_scope": dataclasses.replace(
            scope or (LESION_QUESTIONS_SCOPE if training.get("trained") else TrainedScope(True)),
            input=input_words(recipe_for(cfg))).to_dict(),
        "vision": {"config": json.loads(cfg.to_json()), "scan_graph": "scan.onnx", "question_graph": "question.onnx"},
        "input_recipe": recipe_for(cfg).to_dict(),
        "token_layout": {
            "n_tokens_3d": cfg.n_tokens_3d,
            "n_tokens_2d": cfg.n_tokens_2d,
            "n_model_slices": cfg.n_slices,
            "hidden": cfg.hidden,
        },
        "prompt_format": (prompt or PromptFormat(tasks=default_tasks())).to_dict(),
        "llm": llm,
    }
    write_manifest(out, manifest, files)
    if int8:
        add_scan_variant(out, "int8")
    return load_bundle(out)
