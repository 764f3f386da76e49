"""Starting a training stage from an earlier run's checkpoint or from an exported bundle
(``ctchat train --init``).

The vision weights always carry over (from a bundle: read back from its scan graph,
:mod:`training.export.read_back`). A stage-2 run started from a stage-2 run also keeps that
run's LoRA on the LLM, so a model can be tuned further (e.g. on location questions) without
relearning the rest. A model with location codes started from a run without them gets fresh
codes, and its codes' gate starts as the earlier run's training-only lesion-token head, which
was trained for the same thing.
"""

from __future__ import annotations

from pathlib import Path

import torch

from training.export.read_back import checkpoint_from_bundle, is_bundle
from training.models.multimodal import MultimodalModel
from training.stages.trainer import CHECKPOINT, load_parameters

LOCATION = "scan.location."


def start_from_run(model: MultimodalModel, run_dir: str | Path, stage: str) -> dict[str, str]:
    """Load what ``model`` can take from the checkpoint in ``run_dir`` (or the bundle there)
    before training ``stage``; returns the parts taken (``"vision"``, ``"lesion_head"``,
    ``"lora"``), each with a line for the log. Raises ``ValueError`` when the two models differ
    in anything but the location codes.
    """
    if is_bundle(run_dir):
        return _start_from_bundle(model, run_dir, stage)
    state = torch.load(Path(run_dir) / CHECKPOINT, map_location="cpu", weights_only=False)
    trainable = state["trainable"]
    taken = {"vision": f"vision weights of {run_dir} (stage {state['stage']}, step {state['step']})"}
    fresh_codes = _load_vision(model, state["vision"], run_dir, taken)

    head = model.lesion_head if model.lesion_head is not None else (
        model.vision.scan.location.head if fresh_codes else None)
    if head is not None and "lesion_head.weight" in trainable:
        head.load_state_dict({"weight": trainable["lesion_head.weight"], "bias": trainable["lesion_head.bias"]})
        taken["lesion_head"] = "lesion-token head" + (" (as the location codes' gate)" if fresh_codes else "")

    if stage == "lora" and state["stage"] == "lora":
        model.configure_stage("lora")  # wraps the LLM with LoRA, whose weights are then replaced
        lora = {k: v for k, v in trainable.items() if "lora_" in k}
        if not lora:
            raise ValueError(f"{run_dir}: a stage-2 checkpoint without LoRA weights")
        load_parameters(model, lora, run_dir)
        taken["lora"] = f"LoRA on the LLM ({len(lora)} tensors)"
    return taken


def _load_vision(model: MultimodalModel, vision: dict[str, torch.Tensor], source: str | Path,
                 taken: dict[str, str]) -> bool:
    """Load the vision weights; returns whether the location codes are fresh (``model`` has
    them, ``source`` had none: they start from the LLM's words)."""
    location = model.vision.scan.location
    result = model.vision.load_state_dict(vision, strict=False)
    fresh_codes = location is not None and not any(k.startswith(LOCATION) for k in vision)
    missing = [k for k in result.missing_keys if not (fresh_codes and k.startswith(LOCATION))]
    if missing or result.unexpected_keys:
        raise ValueError(f"{source} is a different vision model: missing {missing[:3]}, "
                         f"unexpected {result.unexpected_keys[:3]}")
    if fresh_codes:
        taken["vision"] += "; the location codes start from the LLM's place words"
    return fresh_codes


def _start_from_bundle(model: MultimodalModel, bundle: str | Path, stage: str) -> dict[str, str]:
    """:func:`start_from_run` for an exported bundle: its vision weights and, for stage 2, its
    LoRA adapter (float16 as shipped). A bundle carries no training-only lesion head."""
    from peft import set_peft_model_state_dict

    state = checkpoint_from_bundle(bundle)
    taken = {"vision": f"vision weights of the bundle {bundle} (read back from its scan graph)"}
    _load_vision(model, state["vision"], bundle, taken)
    if stage == "lora" and state["lora"]:
        model.configure_stage("lora")
        config = model.llm.peft_config["default"]
        ranks = {int(v.shape[0]) for k, v in state["lora"].items() if ".lora_A." in k}
        if ranks != {config.r} or state["lora_alpha"] != config.lora_alpha:
            raise ValueError(f"{bundle}: its adapter has rank {sorted(ranks)} and alpha {state['lora_alpha']}, "
                             f"this model's LoRA rank {config.r} and alpha {config.lora_alpha}")
        result = set_peft_model_state_dict(model.llm, state["lora"])
        n_lora = sum(1 for name, _ in model.llm.named_parameters() if "lora_" in name)
        if result.unexpected_keys or n_lora != len(state["lora"]):
            raise ValueError(f"{bundle}: its adapter does not fit this LLM ({len(state['lora'])} tensors for "
                             f"{n_lora}; unexpected {list(result.unexpected_keys)[:3]})")
        taken["lora"] = f"LoRA adapter of the bundle ({len(state['lora'])} tensors, float16 as shipped)"
    return taken
