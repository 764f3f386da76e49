"""Full-width check (not a CI test: minutes and ~10 GB of disk): the M3D-LaMed-Phi-3 layout at
the published LLM width (hidden 3072, intermediate 8192, 32 heads, 32,015 embedding rows) but
2 layers, random fp32 weights; converted to f16, quantised to Q4_K_M, loaded and run in
llama.cpp on a spliced prompt, then converted again (every step skipped).

    PYTHONPATH=$PWD .venv/bin/python tests/convert/full_width_check.py [--work DIR]

Prints the time, output size and peak memory (RSS of this process and its children) of
each step, and the logits' relative error against transformers' own Phi3ForCausalLM.

The published size, all 32 layers (3.8B parameters), stored as float16 so that it fits in
memory, converted only (transformers' fp32 reference would need 30 GB); its Q4_K_M file is
what ``ctchat bench llm --gguf WORK/work/llm-q4_k_m.gguf`` measures a full-size model with:

    PYTHONPATH=$PWD .venv/bin/python tests/convert/full_width_check.py --work DIR \
        --layers 32 --dtype float16 --no-reference
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixture_layouts import m3d_lamed  # noqa: E402
from fixture_tokenizers import train_spm  # noqa: E402
from parity import (hf_tokenizer, image_vectors, llama_logits, published_ids, reference_logits,  # noqa: E402
                    relative_error)

QUESTION = "What is the abnormality in this image?"


class PeakRSS:
    """Samples the RSS of this process and its children every 0.1 s; peak per label."""

    def __init__(self) -> None:
        self.label, self.peaks, self._stop = "setup", {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.1):
            try:
                procs = [me, *me.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                continue
            self.peaks[self.label] = max(self.peaks.get(self.label, 0), rss)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


# spread 0.02: transformers' initializer_range, the scale of trained weights (the unit tests'
# 0.08 makes a random full-width network chaotic, so that Q4_K_M noise swamps the logits)
WIDTH = dict(hidden=3072, intermediate=8192, heads=32, layers=2, rows=32015, spread=0.02)


def make(root: Path, layers: int, dtype: str) -> None:
    """Write the checkpoint (run in a child process, so its memory is not counted later)."""
    import torch

    m3d_lamed(root / "ckpt", train_spm(root / "spm"), "phi3", **{**WIDTH, "layers": layers},
              dtype=getattr(torch, dtype))


def reference(folder: Path):
    """transformers' Phi3ForCausalLM with the checkpoint's LLM tensors, read from its shards."""
    import json

    import transformers
    from safetensors.torch import load_file

    from convert.llm_folder import is_llm_tensor

    config = json.loads((folder / "config.json").read_text())
    for key in ("architectures", "auto_map", "model_type"):
        config.pop(key)
    model = transformers.Phi3ForCausalLM(transformers.Phi3Config(**config)).eval()
    state = {}
    for shard in sorted(folder.glob("model-*.safetensors")):
        state.update({k: v for k, v in load_file(str(shard)).items() if is_llm_tensor(k)})
    model.load_state_dict(state, strict=True)
    return model


def script_args(doc: str, prefix: str, reference: bool = True) -> tuple[Path, bool, argparse.Namespace]:
    """The work folder of a full-width script (``--work``, else a new temporary one), whether
    this run is its ``--stage make`` child (which writes the checkpoint), and all arguments."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--stage", choices=["make"], help=argparse.SUPPRESS)
    parser.add_argument("--layers", type=int, default=WIDTH["layers"], help="decoder layers (published: 32)")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                        help="the checkpoint's storage type")
    if reference:
        parser.add_argument("--no-reference", action="store_true",
                            help="convert only: no llama.cpp run, no transformers reference")
    args = parser.parse_args()
    return args.work or Path(tempfile.mkdtemp(prefix=prefix)), args.stage == "make", args


def main() -> None:
    root, make_stage, args = script_args(__doc__, "ctchat-fullwidth-")
    if make_stage:
        return make(root, args.layers, args.dtype)
    shutil.rmtree(root / "ckpt", ignore_errors=True)
    shutil.rmtree(root / "work", ignore_errors=True)
    times, sizes = {}, []
    t0 = time.perf_counter()
    child = psutil.Popen([sys.executable, __file__, "--work", str(root), "--stage", "make",
                          "--layers", str(args.layers), "--dtype", args.dtype])
    peak_make = 0
    while child.poll() is None:
        try:
            peak_make = max(peak_make, child.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    assert child.returncode == 0
    times["write the published-layout checkpoint (child process)"] = time.perf_counter() - t0
    folder = root / "ckpt"
    sizes.append((f"published-layout shards ({args.dtype}, {args.layers} layers)", sum(p.stat().st_size for p in folder.glob("model-*.safetensors"))))

    from convert.llm_gguf import convert_llm
    from convert.llm_prompt import read_facts
    from inference.llm.vocab import LlamaVocab
    from published_layout import prompt_layout

    rss = PeakRSS()
    marks = {"start": time.perf_counter()}

    def progress(event) -> None:
        rss.label = event.step
        if event.state in ("finished", "skipped"):
            marks[event.step] = time.perf_counter()

    result = convert_llm(folder, root / "work", ("q4_k_m",), base_type="f16", keep_llm_folder=True,
                         progress=progress)
    order = ["start", "llm_folder", "gguf", "quantize"]
    for a, b in zip(order, order[1:]):
        times[f"step {b}"] = marks[b] - marks[a]
    times["convert_llm, all steps"] = marks["quantize"] - marks["start"]
    shards = list(result.llm_folder.glob("*.safetensors"))
    sizes.append(("LLM-only folder: shards written", sum(p.stat().st_size for p in shards if not p.is_symlink())))
    sizes.append(("LLM-only folder: source shards linked", sum(p.stat().st_size for p in shards if p.is_symlink())))
    for qtype, path in result.ggufs.items():
        sizes.append((f"GGUF {qtype}", path.stat().st_size))

    if args.no_reference:
        rss.stop()
        return report(root, times, sizes, peak_make, rss, {})
    rss.label = "load and run in llama.cpp"
    facts = read_facts(result.source, result.ggufs["f16"])
    tok = hf_tokenizer(folder)
    before, after = published_ids("m3d_lamed", lambda t: tok(t).input_ids, QUESTION)
    image = image_vectors(256, facts.n_embd)
    errors = {}
    logits = {}
    for qtype, path in result.ggufs.items():
        layout = prompt_layout(facts, QUESTION, LlamaVocab(path).tokenize)
        assert (list(layout.before), list(layout.after)) == (before, after)
        t0 = time.perf_counter()
        logits[qtype] = llama_logits(path, layout, image, exact=False)
        times[f"load + decode {len(before) + 256 + len(after)} positions, {qtype}"] = time.perf_counter() - t0
    logits["f16 (exact attention)"] = llama_logits(result.ggufs["f16"], layout, image, exact=True)

    rss.label = "rerun"
    t0 = time.perf_counter()
    states = []
    convert_llm(folder, root / "work", ("q4_k_m",), base_type="f16", keep_llm_folder=True,
                progress=lambda e: states.append(e.state))
    times["rerun (every step skipped)"] = time.perf_counter() - t0
    assert set(states) == {"skipped"}, states
    rss.stop()
    ref = reference_logits(reference(folder), before, image, after)
    for name, values in logits.items():
        errors[name] = (relative_error(values, ref), float(np.corrcoef(values, ref)[0, 1]),
                        int(values.argmax()) == int(ref.argmax()))

    report(root, times, sizes, peak_make, rss, errors)


def report(root: Path, times: dict, sizes: list, peak_make: int, rss: PeakRSS, errors: dict) -> None:
    """Print each step's time, each output's size, the peak memory and the logits' errors."""
    print(f"work folder: {root}")
    for name, seconds in times.items():
        print(f"time      {name:58s} {seconds:7.1f} s")
    for name, n in sizes:
        print(f"size      {name:58s} {gib(n)}")
    print(f"peak RSS  {'writing the checkpoint (child)':58s} {gib(peak_make)}")
    for label, peak in rss.peaks.items():
        print(f"peak RSS  {label + ' (this process + children)':58s} {gib(peak)}")
    for name, (err, corr, same) in errors.items():
        print(f"logits    {name:24s} max|a-b|/max|b| = {err:.2e}, correlation {corr:.4f}, same argmax {same}")


if __name__ == "__main__":
    main()
