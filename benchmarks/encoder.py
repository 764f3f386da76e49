"""``ctchat bench encoder``: the vision graphs in ONNX Runtime against torch eager.

Same weights (one model, exported), same real input (the bundled demo CT, or ``--scan``), same
run, same thread count; warm-up, then timed runs interleaved (torch, ORT, torch, ORT, ...) so
both see the same machine state. Prints the median per graph (scan, question), the ratio
torch / ORT (> 1: ORT faster), the max abs difference of the outputs, and each graph's GFLOP
(counted by torch's FlopCounterMode) with ORT's rate against the fp32 matmul peak measured at
the start of the same run (:mod:`.matmul_peak`). Beside the fp32 scan graph runs its
reduced-precision version for the device, as ``ctchat bundle int8`` / ``fp16`` makes it: int8
on the CPU, fp16 on CUDA. On a machine with a CUDA build of torch and ``onnxruntime-gpu`` the
GPU is benchmarked too.

Example:
    $ ctchat bench encoder --config tiny m3d --runs 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .matmul_peak import best_rate, matmul_rates
from .op_profile import profile_graph


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``encoder`` to ``ctchat bench``."""
    p = subparsers.add_parser("encoder", help="vision graphs: ONNX Runtime vs torch eager",
                              description=__doc__.splitlines()[0])
    p.add_argument("--config", nargs="+", default=["tiny"], help="presets: tiny, m3d, e3d_gpt")
    p.add_argument("--perceiver", default=None, help="override the preset's perceiver kind")
    p.add_argument("--runs", type=int, default=20, help="timed runs per graph (default 20)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="default: physical cores")
    p.add_argument("--scan", default=None, help="CT (DICOM folder / NIfTI); default: the demo CT")
    p.add_argument("--question", default="Is there a nodule in the right upper lobe?")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: the CPU, and the GPU too when one is usable")
    p.add_argument("--json", dest="json_path", default=None, help="also write results here")
    p.set_defaults(func=run)


def _median_ms(fn: Callable[[], Any], sync: Callable[[], None]) -> Callable[[], float]:
    def once() -> float:
        t0 = time.perf_counter()
        fn()
        sync()
        return (time.perf_counter() - t0) * 1e3
    return once


def counted_gflop(fn: Callable[[], Any]) -> float:
    """GFLOP of one call of ``fn`` (torch eager), counted by torch's FlopCounterMode: matmuls,
    convolutions and attention, the work that dominates a ViT. The counter has no formula for
    the CPU's own attention kernel (``_scaled_dot_product_flash_attention_for_cpu``, which
    ``scaled_dot_product_attention`` runs on the CPU) and would count its score products as 0:
    it is given the same formula as the GPU kernels."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    def cpu_attention(query, key, value, *args, out_shape=None, **kwargs) -> int:  # shapes, not tensors
        return sdpa_flop_count(query, key, value)

    counter = FlopCounterMode(display=False, custom_mapping={
        torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: cpu_attention})
    with counter:
        fn()
    return counter.get_total_flops() / 1e9


def _text_vector(question: str, hidden: int) -> tuple[np.ndarray, str]:
    try:
        from inference.llm.text_vector import TextVectorizer

        tv = TextVectorizer.from_gguf()
        if tv.n_embd == hidden:
            return tv.vector(question)[None], "GGUF token embeddings"
    except Exception as exc:  # no GGUF package here: a seeded stand-in of the same scale
        print(f"(text vector: {exc}; using a seeded random vector)", file=sys.stderr)
    return (np.random.default_rng(0).standard_normal((1, hidden)) * 0.05).astype(np.float32), "random"


def bench_config(preset: str, args: argparse.Namespace, device: str) -> list[dict[str, Any]]:
    """Benchmark one preset on ``device`` ("cpu" or "cuda"); one result row per graph."""
    import torch

    from inference.vision.runtime import VisionRuntime, physical_cores
    from training.export.onnx_graphs import export_vision
    from training.models.config import get_config
    from training.models.inputs import model_input
    from training.models.vision_model import build_vision_model

    threads = args.threads or physical_cores()
    torch.set_num_threads(threads)
    cfg = get_config(preset, perceiver=args.perceiver)
    model = build_vision_model(cfg)
    if args.scan is None:
        from inference.resources import DEMO_CT
        scan_src = DEMO_CT
    else:
        scan_src = Path(args.scan)
    volume = model_input(cfg, scan_src)
    text, text_src = _text_vector(args.question, cfg.hidden)
    with tempfile.TemporaryDirectory(prefix="ctchat-bench-") as tmp:
        t0 = time.perf_counter()
        exported = export_vision(model, tmp)
        export_s = time.perf_counter() - t0
        rt = VisionRuntime(exported.scan, exported.question, device=device, threads=threads)
        providers = rt.providers
        tdev = torch.device("cuda" if device == "cuda" else "cpu")
        model = model.to(tdev)
        sync = torch.cuda.synchronize if tdev.type == "cuda" else (lambda: None)
        vol_t = torch.from_numpy(volume)
        text_t = torch.from_numpy(text)

        def torch_scan():
            with torch.inference_mode():
                return [t.cpu() for t in model.scan(vol_t.to(tdev))]

        def torch_question(scan):
            with torch.inference_mode():
                t3, t2, f = (t.to(tdev) for t in scan)
                return [t.cpu() for t in model.question(t3, t2, f, text_t.to(tdev))]

        t_scan = torch_scan()
        o_scan = rt.encode_scan(volume)
        t_q = torch_question(t_scan)
        o_q = rt.ask(o_scan, text)
        diffs = {
            "scan": max(float(np.abs(o_scan[n] - t.numpy()).max()) for n, t in
                        zip(("image_tokens_3d", "slice_tokens_2d", "slice_features"), t_scan)),
            "question": max(float(np.abs(o_q.slice_scores - t_q[0][0].numpy()).max()),
                            float(np.abs(o_q.image_tokens - t_q[1][0].numpy()).max())),
        }
        pairs = {
            "scan": (_median_ms(torch_scan, sync), _median_ms(lambda: rt.encode_scan(volume), sync)),
            "question": (_median_ms(lambda: torch_question(t_scan), sync),
                         _median_ms(lambda: rt.ask(o_scan, text), sync)),
        }
        gflop = {"scan": counted_gflop(torch_scan), "question": counted_gflop(lambda: torch_question(t_scan))}
        # the reduced-precision scan graph made for this device: int8 on the CPU, fp16 on CUDA;
        # the same torch runs again, so its ratio is torch fp32 / ORT int8 or fp16
        kind = "int8" if device == "cpu" else "fp16"
        variant = _variant_scan(kind, exported.scan, tmp, volume, o_scan, device, threads)
        row = f"scan {kind}"
        pairs[row] = (pairs["scan"][0], _median_ms(lambda: variant["runtime"].encode_scan(volume), sync))
        diffs[row] = variant["max_abs_diff"]
        gflop[row] = gflop["scan"]
        graphs = {"scan": exported.scan, row: variant["path"]}
        profiles = {g: profile_graph(path, {"volume": volume}, threads).summary()
                    for g, path in graphs.items() if device == "cpu"}
        runs = args.runs if preset == "tiny" else max(3, min(args.runs, 5))
        rows = []
        for graph, (tf, of) in pairs.items():
            for _ in range(args.warmup):
                tf(), of()
            tt, ot = [], []
            for _ in range(runs):  # interleaved
                tt.append(tf())
                ot.append(of())
            tm, om = statistics.median(tt), statistics.median(ot)
            rows.append({"config": preset, "perceiver": cfg.perceiver.kind, "graph": graph,
                         "device": device, "torch_ms": tm, "ort_ms": om, "ratio": tm / om,
                         "runs": runs, "max_abs_diff": diffs[graph], "providers": providers, "gflop": gflop[graph],
                         "ort_gflops_per_s": gflop[graph] / (om / 1e3),
                         "threads": threads, "export_s": export_s, "text_vector": text_src,
                         "input_shape": list(volume.shape),
                         **({"rel_rms": variant["rel_rms"], "variant": kind} if graph == row else {}),
                         **({"ort_time_by_op": profiles[graph]} if graph in profiles else {})})
        return rows


def _variant_scan(kind: str, fp32_graph: str, tmp: str, volume: np.ndarray, fp32_out: dict, device: str,
                  threads: int) -> dict[str, Any]:
    """The scan graph's ``kind`` version made as ``ctchat bundle int8`` / ``fp16`` makes it, its
    runtime on ``device`` and its outputs' distance from fp32 ORT (rel-RMS per output, the
    bundle's acceptance measure)."""
    from inference.vision.runtime import VisionRuntime
    from training.export.scan_variants import VARIANTS, rel_rms

    variant = VARIANTS[kind]
    path = variant.make(fp32_graph, Path(tmp) / variant.file)
    rt = VisionRuntime(str(path), None, device=device, threads=threads)
    out = rt.encode_scan(volume)
    return {"runtime": rt, "path": path, "rel_rms": {n: rel_rms(fp32_out[n], out[n]) for n in fp32_out},
            "max_abs_diff": max(float(np.abs(out[n] - fp32_out[n]).max()) for n in fp32_out)}


def _load() -> str:
    try:
        import os

        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def _devices(choice: str) -> list[str]:
    import torch

    from inference.ort import onnxruntime as ort

    gpu_ok = torch.cuda.is_available() and "CUDAExecutionProvider" in ort.get_available_providers()
    if choice == "cpu":
        return ["cpu"]
    if choice == "cuda":
        return ["cuda"]
    return ["cpu", "cuda"] if gpu_ok else ["cpu"]


def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by ``args``; prints a table, returns the exit status."""
    import torch

    from inference.ort import onnxruntime as ort

    print(f"torch {torch.__version__} (CUDA available: {torch.cuda.is_available()}), "
          f"onnxruntime {ort.__version__} (available providers: {ort.get_available_providers()}); "
          f"load average {_load()} (other work on the machine slows both sides)")
    rows: list[dict[str, Any]] = []
    from inference.vision.runtime import physical_cores

    threads = args.threads or physical_cores()
    rates = matmul_rates(threads)
    peak = best_rate(rates)
    print(f"measured fp32 matmul peak: {peak:.1f} GFLOP/s (2048-square sgemm, {threads} threads, median of 5; "
          + ", ".join(f"{name} {rate:.1f}" for name, rate in rates.items() if rate == rate) + ")")
    for device in _devices(args.device):
        for preset in args.config:
            t0 = time.perf_counter()
            new = bench_config(preset, args, device)
            rows += new
            print(f"\n{preset} ({new[0]['perceiver']}, input {tuple(new[0]['input_shape'])}) on {device}: "
                  f"ORT providers {new[0]['providers']}, {new[0]['threads']} threads, "
                  f"text vector: {new[0]['text_vector']}, export {new[0]['export_s']:.1f} s, "
                  f"total {time.perf_counter() - t0:.0f} s")
            print(f"  load average now {_load()}")
            print(f"  {'graph':<10}{'torch ms':>10} {'ORT ms':>10} {'torch/ORT':>10} {'max|diff|':>10} "
                  f"{'GFLOP':>9} {'ORT GFLOP/s':>12} {'of peak':>8}  runs")
            for r in new:
                r["peak_gflops_per_s"] = peak if device == "cpu" else None
                share = f"{r['ort_gflops_per_s'] / peak:>8.2f}" if device == "cpu" else f"{'-':>8}"
                print(f"  {r['graph']:<10}{r['torch_ms']:>10.2f} {r['ort_ms']:>10.2f} "
                      f"{r['ratio']:>9.2f}x {r['max_abs_diff']:>10.1e} {r['gflop']:>9.2f} "
                      f"{r['ort_gflops_per_s']:>12.1f} {share}  {r['runs']}")
            for r in new:
                if "ort_time_by_op" in r:
                    print(f"  ORT {r['graph']} time (its profiler): {r['ort_time_by_op']}")
            for r in new:
                if "rel_rms" in r:
                    from training.export.scan_variants import VARIANTS

                    kind, bound = r["variant"], VARIANTS[r["variant"]].tolerance["image_tokens_rel_rms"]
                    worst = max(r["rel_rms"].values())
                    print(f"  {kind} scan graph: image-token rel-RMS against fp32 "
                          + ", ".join(f"{n} {100 * v:.2f} %" for n, v in r["rel_rms"].items())
                          + f" (a bundle accepts <= {100 * bound:.1f} %: "
                          f"{'within' if worst <= bound else 'OUTSIDE'}; "
                          f"the answer-logit check runs at ctchat bundle {kind} FOLDER)")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(rows, indent=1))
    return 0
