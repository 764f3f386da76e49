#!/usr/bin/env bash
# The slice-set benchmark on one GPU (H100): the CUDA build of llama-cpp-python 0.3.36 in the
# venv, the full-size random model in MedGemma 1.5's layout, and `ctchat bench bundle` at the
# published 85 slices. The number to report: "first token, cold" at 85 slices (goal <= 3 s),
# with the reopened first token, prefill/decode against bare llama.cpp and the KV cache.
# Run from the repository root:  bash scripts/gpu/slice_set_bench.sh [OUT_DIR]
set -euo pipefail
PY=.venv/bin/python
OUT=${1:-/tmp/ctchat-medgemma-layout}

# the CUDA build from source (minutes): the PyPI wheel is CPU-only
CMAKE_ARGS="-DGGML_CUDA=on" "$PY" -m pip install --no-binary llama-cpp-python --force-reinstall --no-deps \
    llama-cpp-python==0.3.36
"$PY" -c "import llama_cpp as l; l.llama_backend_init(); assert l.llama_supports_gpu_offload(), 'not a CUDA build'"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader

[ -f "$OUT/manifest.json" ] || "$PY" -m benchmarks.slice_set_layout --out "$OUT" --no-check
.venv/bin/ctchat bench bundle --bundle "$OUT" --slices 85 --runs 2 --device cuda
