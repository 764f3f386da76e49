"""Starting a training stage from an earlier run's checkpoint (``ctchat train --init``).

The vision weights always carry over. A stage-2 run started from a stage-2 run also keeps that
run's LoRA on the LLM, so a model can be tuned further (e.g. on location questions) without
relearning the rest. A model with location codes started from a run without them gets fresh
codes, and its codes' gate starts as the earlier run's training-only lesion-token head, which
was trained for the same thing.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .multimodal import MultimodalModel
from .trainer import CHECKPOINT, load_parameters

LOCATION = "scan.location."


def start_from_run(model: MultimodalModel, run_dir: str | Path, stage: str) -> dict[str, str]:
    """Load what ``model`` can take from the checkpoint in ``run_dir`` before training ``stage``;
    returns the parts taken (``"vision"``, ``"lesion_head"``, ``"lora"``), each with a line for
    the log. Raises ``ValueError`` when the two models differ in anything but the location codes.
    """
    state = torch.load(Path(run_dir) / CHECKPOINT, map_location="cpu", weights_only=False)
    trainable = state["trainable"]
    taken = {"vision": f"vision weights of {run_dir} (stage {state['stage']}, step {state['step']})"}
    result = model.vision.load_state_dict(state["vision"], strict=False)
    fresh_codes = model.vision.scan.location is not None and not any(k.startswith(LOCATION) for k in state["vision"])
    missing = [k for k in result.missing_keys if not (fresh_codes and k.startswith(LOCATION))]
    if missing or result.unexpected_keys:
        raise ValueError(f"{run_dir} is a different vision model: missing {missing[:3]}, "
                         f"unexpected {result.unexpected_keys[:3]}")

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
