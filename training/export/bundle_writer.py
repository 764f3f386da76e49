"""Write a bundle of our own models: the ONNX vision graphs, an optional LoRA adapter as GGUF,
and the manifest (:mod:`inference.bundle` reads and verifies it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from inference.bundle import DEFAULT_LLM_PACKAGE, Bundle, load_bundle, sha256_file, write_manifest
from inference.llm.model_files import DEFAULT_GGUF_NAME, default_gguf_path
from inference.llm.prompt import PromptFormat, default_tasks
from training.export.lora_gguf import write_lora_gguf
from training.export.onnx_graphs import export_vision
from training.models.inputs import recipe_for


def write_bundle(
    out: str | Path,
    vision_model: Any,
    name: str,
    version: str,
    training: dict[str, Any],
    lora_pairs: dict | None = None,
    lora_alpha: float | None = None,
    prompt: PromptFormat | None = None,
) -> Bundle:
    """Export a torch vision model (and optionally a LoRA adapter) as a bundle with the default LLM.

    ``training`` goes into the manifest as is; it must say whether the weights are trained
    (``"trained"``) and on what. ``prompt``: the format the model was trained with (default:
    the shipped task templates, multiple-choice answers letter first).
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
    return load_bundle(out)
