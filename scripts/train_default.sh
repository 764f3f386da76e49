#!/usr/bin/env bash
# How the default bundle (resources/bundles/default) is trained, start to end, on the CPU
# (2 cores: about 80 minutes, then 8 for the evaluation). Run folders go to $RUNS (default:
# runs/); each stage resumes if interrupted. Add `accelerate launch` in front of a stage for
# GPUs (config by `accelerate config`), e.g.: accelerate launch -m inference.cli train --stage lora ...
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs}
CTCHAT=${CTCHAT:-.venv/bin/ctchat}

# 1. the 3D encoder (tiny_conv: a convolutional stem) learns where synthetic lesions are, on new
#    insertions and crops of the training scans' lesion-free lungs in every batch (24,000 cases)
$CTCHAT pretrain --objective lesion --config tiny_conv --out "$RUNS/lesion" --steps 3000 --checkpoint-every 250
# 2. stage 1: align the perceiver, 2D connector and TG-IS (encoders and LLM frozen)
$CTCHAT train --stage align --config tiny_conv --out "$RUNS/align" --mae "$RUNS/lesion" --steps 800 --lr 1e-3 \
  --per-scan 128 --lesion-free-parts --lesion-weight 1 --checkpoint-every 200
# 3. stage 2: perceiver + 2D encoder + LoRA (r 16, alpha 32, dropout 0.1) on the LLM
$CTCHAT train --stage lora --config tiny_conv --out "$RUNS/lora" --init "$RUNS/align" --steps 2500 --lr 2e-4 \
  --vision-lr 1e-3 --per-scan 128 --lesion-free-parts --lesion-weight 1 --checkpoint-every 200
# 4. stage 2 continued with location codes (tiny_loc: tiny_conv + the location token; the codes'
#    gate starts as step 3's lesion-token head, the LoRA carries on), location questions 4x,
#    new insertions (--seed 1)
$CTCHAT train --stage lora --config tiny_loc --out "$RUNS/lora_loc" --init "$RUNS/lora" --steps 1000 --lr 1e-4 \
  --vision-lr 5e-4 --per-scan 128 --lesion-free-parts --lesion-weight 1 --oversample-location 4 --seed 1 \
  --checkpoint-every 200
# 5. stage 2 continued again, location and phase questions 4x each (both asked both ways),
#    new insertions (--seed 2); exported, as the bundle the last stage starts from
$CTCHAT train --stage lora --config tiny_loc --out "$RUNS/lora_bal" --init "$RUNS/lora_loc" --steps 1500 --lr 1e-4 \
  --vision-lr 5e-4 --per-scan 128 --lesion-free-parts --lesion-weight 1 --oversample-location 4 \
  --oversample-phase 4 --seed 2 --checkpoint-every 250 --name ctchat-default --export "$RUNS/lora_bal_bundle"
# 6. the LoRA alone (vision rate 0: a vision side that moves shifts the presence answer's
#    threshold) learns multiple-choice answers letter last ("left lower (B)"), continued from
#    that bundle (vision read back from its graph, LoRA from its float16 adapter); then export
$CTCHAT train --stage lora --config tiny_loc --out "$RUNS/letter_last" --init "$RUNS/lora_bal_bundle" \
  --choice-answer letter_last --steps 750 --lr 5e-5 --vision-lr 0 --per-scan 128 --lesion-free-parts --lesion-weight 1 \
  --oversample-location 4 --oversample-phase 4 --seed 6 --checkpoint-every 250 --name ctchat-default --version 0.4.0 \
  --export "${EXPORT:-resources/bundles/default}"
# 7. the papers' metrics on the held-out scans, against the zeroed-image and untrained baselines
$CTCHAT eval --bundle "${EXPORT:-resources/bundles/default}" --cases 32 --no-bertscore
