"""``ctchat bench llm`` on a converted full-size LLM (not a CI test: ~15 min and ~20 GB of disk).

No published checkpoint is on this machine and nothing may be downloaded, so this writes the
M3D-LaMed-Phi-3-4B layout at its full published LLM size (hidden 3072, intermediate 8192, 32
heads, **32 layers**, 32,015 embedding rows: 3.8 B parameters) with random weights at trained
scale (std 0.02), converts it with the converter ``ctchat convert`` uses (HF folder -> f16 GGUF
-> Q4_K_M, llama.cpp's own tools) and runs ``ctchat bench llm`` on the Q4_K_M file. The speed
of a decode step does not depend on the weights' values, only on their sizes and types, which
are those of the real model; the tokens are meaningless.

The fixture helpers of tests/convert write the folder's config and tokenizer (layer 0 through
transformers' own Phi3 class, so the key names are the published ones); layers 1-31 are added
as float16 shards of the same names, one per layer, so no step holds the whole model in memory.

    PYTHONPATH=$PWD .venv/bin/python experiments/full_width_llm_bench.py --work DIR [--keep]

Prints each step's time and the benchmark's table; removes everything but the Q4_K_M GGUF
(``DIR/work/*.gguf``) unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "convert"))

LAYERS = 32  # Phi-3-mini's depth
WIDTH = dict(hidden=3072, intermediate=8192, heads=32, rows=32015, spread=0.02)


def write_checkpoint(folder: Path) -> None:
    """The published layout with layer 0 from the fixture and layers 1.. as added shards."""
    import torch
    from safetensors.torch import save_file

    from fixture_layouts import m3d_lamed
    from fixture_tokenizers import train_spm

    m3d_lamed(folder, train_spm(folder.parent / "spm"), "phi3", layers=1, **WIDTH)
    (folder / "model.bin").unlink()  # the fixture's zero duplicate of the LLM: not read, 1.5 GB
    index_path = folder / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    from safetensors import safe_open

    layer0 = {}
    for key, shard in index["weight_map"].items():
        if key.startswith("model.layers.0."):
            with safe_open(str(folder / shard), "pt") as f:
                layer0[key] = f.get_slice(key).get_shape()
    gen = torch.Generator().manual_seed(1)
    for i in range(1, LAYERS):
        tensors = {}
        for key, shape in layer0.items():
            t = torch.empty(shape, dtype=torch.float32)
            if key.endswith("norm.weight"):
                t.uniform_(0.7, 1.3, generator=gen)
            else:
                t.normal_(0, WIDTH["spread"], generator=gen)
            tensors[key.replace("model.layers.0.", f"model.layers.{i}.")] = t.half()
        name = f"model-layer-{i:02d}.safetensors"
        save_file(tensors, str(folder / name), metadata={"format": "pt"})
        for key, t in tensors.items():
            index["weight_map"][key] = name
            index["metadata"]["total_size"] += t.numel() * t.element_size()
    index_path.write_text(json.dumps(index, indent=2))
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = LAYERS
    (folder / "config.json").write_text(json.dumps(config, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="work folder (~20 GB free)")
    parser.add_argument("--keep", action="store_true", help="keep the checkpoint and the f16 GGUF")
    parser.add_argument("--bench-args", default="--tokens 64 --repeats 3", help="passed to ctchat bench llm")
    args = parser.parse_args()
    folder, work = args.work / "M3D-LaMed-Phi-3-4B", args.work / "work"
    t0 = time.perf_counter()
    if not (folder / "config.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(args.work / "spm", ignore_errors=True)
        write_checkpoint(folder)
    print(f"write the {LAYERS}-layer checkpoint        {time.perf_counter() - t0:7.1f} s", flush=True)

    from convert.llm_gguf import convert_llm

    t0 = time.perf_counter()
    result = convert_llm(folder, work, ("q4_k_m",), base_type="f16")
    print(f"convert: f16 GGUF, then Q4_K_M       {time.perf_counter() - t0:7.1f} s", flush=True)
    gguf = result.ggufs["q4_k_m"]
    print(f"Q4_K_M file: {gguf} ({gguf.stat().st_size / 2**30:.2f} GiB)", flush=True)
    if not args.keep:
        shutil.rmtree(folder)
        for path in work.glob("*.gguf"):
            if path != gguf:  # the f16 GGUF
                path.unlink()
    ctchat = str(Path(sys.executable).with_name("ctchat"))
    subprocess.run([ctchat, "bench", "llm", "--gguf", str(gguf), *args.bench_args.split()], check=True)


if __name__ == "__main__":
    main()
