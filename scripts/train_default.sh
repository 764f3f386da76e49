#!/usr/bin/env bash
# How the default bundle (resources/bundles/default) is trained, start to end, on the CPU
# (2 cores: about 50 minutes). Run folders go to $RUNS (default: runs/); each stage resumes
# if interrupted. Add `accelerate launch` in front of a stage for GPUs (config by
# `accelerate config`), e.g.: accelerate launch -m inference.cli train --stage lora ...
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs}
CTCHAT=${CTCHAT:-.venv/bin/ctchat}

# 1. 3D MAE pretraining of the encoder on the training and unlabelled (non-evaluation) scans
$CTCHAT pretrain --out "$RUNS/mae" --steps 8000 --lr 5e-4 --per-scan 16 --checkpoint-every 1000
# 2. stage 1: align the perceiver, 2D connector and TG-IS (encoders and LLM frozen)
$CTCHAT train --stage align --out "$RUNS/align" --mae "$RUNS/mae" --steps 800 --lr 1e-3 --per-scan 128 \
  --checkpoint-every 200
# 3. stage 2: perceiver + 2D encoder + LoRA (r 16, alpha 32, dropout 0.1) on the LLM, then export
$CTCHAT train --stage lora --out "$RUNS/lora" --init "$RUNS/align" --steps 3500 --lr 2e-4 --vision-lr 1e-3 --per-scan 128 \
  --checkpoint-every 200 --name ctchat-default --export "${EXPORT:-resources/bundles/default}"
# 4. the papers' metrics on the held-out scans, against the zeroed-image and untrained baselines
$CTCHAT eval --bundle "${EXPORT:-resources/bundles/default}" --cases 16
