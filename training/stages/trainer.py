"""The training loop: accelerate (CPU here, one or more GPUs by configuration), progress bar,
checkpoints and resume.

``accelerate launch`` with a config file spreads the same loop over GPUs or nodes; nothing in
the code changes. A checkpoint holds the trainable parameters (by name), the optimizer state,
the step, the losses so far and the random state (dropout, MAE masks); a run pointed at the
same folder resumes where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from inference.bundle import MANIFEST

CHECKPOINT = "checkpoint.pt"
STAGES = "stages.json"  # what a run folder's weights went through, earlier stages first


@dataclass(frozen=True)
class TrainConfig:
    """One stage of training. Paper rates: align 1e-4, lora 5e-5 (E3D-GPT)."""

    stage: str  # "align" or "lora"
    steps: int
    lr: float
    out_dir: Path
    checkpoint_every: int = 50
    seed: int = 0
    vision_lr: float | None = None  # a separate rate for the vision parameters (default: lr)


def train(model: torch.nn.Module, examples: Sequence, cfg: TrainConfig, progress: bool = True) -> list[float]:
    """Run (or resume) a stage; returns the losses of the steps run now.

    ``model`` has ``configure_stage(stage) -> parameters`` and ``model(example) -> loss``
    (:class:`MultimodalModel`, :class:`~training.stages.pretrain.MAEPretrainer`). Examples are
    visited in a fresh seeded permutation each epoch, so a resumed run sees the same order.
    """
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    torch.manual_seed(cfg.seed)
    accelerator = Accelerator()
    optimizer = torch.optim.AdamW(_param_groups(model, model.configure_stage(cfg.stage), cfg), lr=cfg.lr)
    start, history = _resume(model, optimizer, cfg)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    losses: list[float] = []
    bar = tqdm(range(start, cfg.steps), desc=f"stage {cfg.stage}", disable=not progress or start >= cfg.steps)
    for step in bar:
        # each process takes its own example of the step (data parallel under accelerate launch)
        index = step * accelerator.num_processes + accelerator.process_index
        loss = model(examples[_order(len(examples), index, cfg.seed)])
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            if accelerator.is_main_process:
                _save(accelerator.unwrap_model(model), optimizer, cfg, step + 1, history + losses)
            accelerator.wait_for_everyone()
    model.eval()
    return losses


def _param_groups(model: torch.nn.Module, params: list, cfg: TrainConfig) -> list[dict]:
    """One group at ``lr``, or, with ``vision_lr``, the vision parameters in a group of their own."""
    if cfg.vision_lr is None or not hasattr(model, "vision"):
        return [{"params": params}]
    vision = {id(p) for p in model.vision.parameters()}
    return [{"params": [p for p in params if id(p) not in vision]},
            {"params": [p for p in params if id(p) in vision], "lr": cfg.vision_lr}]


def _order(n: int, step: int, seed: int) -> int:
    """Index of the example for ``step``: epoch ``step // n`` is a permutation seeded by (seed, epoch)."""
    epoch, i = divmod(step, n)
    return int(np.random.default_rng([seed, epoch]).permutation(n)[i])


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that train in the current stage, by name."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _save(model: torch.nn.Module, optimizer, cfg: TrainConfig, step: int, losses: list[float]) -> None:
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    tmp = cfg.out_dir / (CHECKPOINT + ".tmp")
    state = {"stage": cfg.stage, "step": step, "trainable": trainable_state(model),
             "optimizer": optimizer.state_dict(), "losses": losses,
             # the dropout masks of a resumed run continue where they stopped (LoRA dropout)
             "torch_rng": torch.get_rng_state(),
             "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}
    if hasattr(model, "vision"):  # all vision weights, frozen ones too, for the next stage's --init
        state["vision"] = {k: v.detach().clone() for k, v in model.vision.state_dict().items()}
    torch.save(state, tmp)
    tmp.replace(cfg.out_dir / CHECKPOINT)  # a crash never leaves a half-written checkpoint


def load_parameters(model: torch.nn.Module, values: dict[str, torch.Tensor], source: str | Path) -> None:
    """Copy ``values`` into the model's parameters of the same names (as saved by
    :func:`trainable_state`); ``ValueError`` when ``source`` holds names the model lacks."""
    named = dict(model.named_parameters())
    unknown = set(values) - set(named)
    if unknown:
        raise ValueError(f"{source} holds parameters this model does not have: {sorted(unknown)[:3]}")
    with torch.no_grad():
        for name, value in values.items():
            named[name].copy_(value)


def _resume(model: torch.nn.Module, optimizer, cfg: TrainConfig) -> tuple[int, list[float]]:
    path = cfg.out_dir / CHECKPOINT
    if not path.exists():
        return 0, []
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["stage"] != cfg.stage:
        raise ValueError(f"{path} is a checkpoint of stage {state['stage']!r}, not {cfg.stage!r}")
    load_parameters(model, state["trainable"], path)
    optimizer.load_state_dict(state["optimizer"])
    if "torch_rng" in state:  # (checkpoints written before it was saved resume reseeded)
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
    return int(state["step"]), list(state["losses"])


def write_stages(out_dir: Path, stages: list[dict]) -> None:
    """Record the stages behind a run folder's weights (read by the next stage and the export)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STAGES).write_text(json.dumps(stages, indent=2) + "\n")


def read_stages(run_dir: str | Path) -> list[dict]:
    """The stages recorded in a run folder or a bundle's manifest (empty without a record)."""
    manifest = Path(run_dir) / MANIFEST
    if manifest.is_file():
        return json.loads(manifest.read_text()).get("training", {}).get("stages", [])
    path = Path(run_dir) / STAGES
    return json.loads(path.read_text()) if path.exists() else []
