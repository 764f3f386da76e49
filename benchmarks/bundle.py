"""``ctchat bench bundle``: one bundle end to end on a real CT, the way the app runs it.

Scan encode (preprocessing, the vision graphs in ONNX Runtime, the image prefix into
llama.cpp), then per question the time to first token with the scan prefix reused from the KV
cache against recomputing it (the baseline, in the same run), a reopened scan from the scan
cache against a cold start, and the decode speed against its limit, memory bandwidth over the
bytes a token reads (both measured in the same run); the peak memory of the process and the
files' sizes. Medians of ``--runs``.

Example:
    $ ctchat bench bundle --bundle ~/bundles/m3d-lamed-phi3 --runs 5
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

QUESTION = "Where is the lesion located?"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bundle`` to ``ctchat bench``."""
    p = subparsers.add_parser("bundle", help="a bundle end to end: scan encode, first token (KV reuse vs "
                                             "recompute), tokens/s, peak memory")
    p.add_argument("--bundle", default="default", help="bundle name or folder (default: default)")
    p.add_argument("--scan", default=None, help="CT (DICOM folder / NIfTI); default: the demo CT")
    p.add_argument("--question", default=QUESTION)
    p.add_argument("--runs", type=int, default=5, help="timed runs of each (default 5)")
    p.add_argument("--tokens", type=int, default=32, help="tokens generated per answer (default 32)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--slices", type=int, default=None,
                   help="a slice-set bundle: slices in the measured run (default 4 on the CPU, 85 on a GPU)")
    p.set_defaults(func=run)


def _median_ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):9.1f} ms"


def _mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:9.0f} MiB"


def _reopen_times(chat, volume, question, runs: int) -> tuple[list[float], list[float], list[dict]]:
    """Seconds from opening the scan to the first token's logits: cold (no cache) and from a
    scan cache (in a temporary folder) that holds it, interleaved; and each cached reopen's
    stages (:meth:`ChatSession.load_scan`'s timings)."""
    import tempfile

    from inference.chat.scan_cache import ScanCache

    cold, reopened, stages = [], [], []
    with tempfile.TemporaryDirectory(prefix="ctchat-bench-cache-") as folder:
        cache = ScanCache(folder)
        chat.scan_cache = cache
        chat.load_scan(volume)  # fills the cache
        for _ in range(runs):
            for cached, times in ((None, cold), (cache, reopened)):
                chat.scan_cache = cached
                t0 = time.perf_counter()
                timings = chat.load_scan(volume)
                chat.first_token_logits(question)
                times.append(time.perf_counter() - t0)
                if cached is not None and chat.from_cache:
                    stages.append({**timings, "total": times[-1]})
        chat.scan_cache = None
    return cold, reopened, stages


def reopen_stages(stages: list[dict]) -> str:
    """Where a reopen from the scan cache spends its time (medians over the runs)."""
    if not stages:
        return "  reopen from the scan cache: no run hit the cache"
    med = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
    first = statistics.median(s["total"] - s["preprocess"] - s["vision"] - s["llm_prefix"] for s in stages)
    reads = ", ".join(f"{1000 * s['vision']:.0f}" for s in stages)
    return (f"    of which: preprocess {1000 * med['preprocess']:.0f} ms, hash + read the entry "
            f"{1000 * med['vision']:.0f} ms (each run: {reads}), "
            f"restore the KV state {1000 * med['llm_prefix']:.0f} ms, the question to the first token "
            f"{1000 * first:.0f} ms")


def vision_work(chat, vision_s: float) -> str:
    """The scan graph's work (FLOPs from ONNX Runtime's profile of one run) and its rate at the
    median time, against the fp32 matmul rate measured now, with where the time goes."""
    from inference.vision.runtime import physical_cores

    from .op_profile import numpy_sgemm_rate, profile_graph

    if chat.providers[0] != "CPUExecutionProvider":
        return "  vision work: set against the CPU's peak only (the graphs run on the GPU)"
    threads = chat.vision.threads or physical_cores()
    prof = profile_graph(chat.vision.scan_graph, {"volume": chat.model_input.array}, threads)
    peak, rate = numpy_sgemm_rate(threads), prof.gflop / vision_s
    share = f"{rate / peak:.2f} of" if peak == peak else "no measure of"
    return (f"  vision work: {prof.gflop:.1f} GFLOP per scan, {rate:.1f} GFLOP/s: {share} the fp32 matmul "
            f"peak measured now ({peak:.1f} GFLOP/s, 2048-square sgemm, {threads} threads); "
            f"time in {prof.summary()}")


def run(args: argparse.Namespace) -> int:
    """Print the figures side by side, with the ratio recompute / reuse."""
    from inference.bundle import load_bundle
    from inference.chat import ChatSession
    from inference.io import load_volume
    from inference.question import Question
    from inference.resources import DEMO_CT

    from .llm_bandwidth import limit_report

    bundle = load_bundle(args.bundle)
    if bundle.kind == "slice_set":  # no vision graphs nor 3D prefix: its own figures
        from .slice_set import run_slice_set

        return run_slice_set(bundle, args)
    volume = load_volume(args.scan or DEMO_CT)
    t0 = time.perf_counter()
    chat = ChatSession(bundle, device=args.device, n_threads=args.threads)
    load_s = time.perf_counter() - t0
    question = Question("open", args.question)
    try:
        encodes = [chat.load_scan(volume) for _ in range(args.runs)]
        chat.ask(question, max_tokens=2)  # warm-up of the question path
        reuse, recompute, speed, contexts = [], [], [], []
        for _ in range(args.runs):  # interleaved, so both see the same machine state
            t0 = time.perf_counter()
            chat.first_token_logits(question)
            reuse.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            chat.recompute_prefix()
            chat.first_token_logits(question)
            recompute.append(time.perf_counter() - t0)
            answer = chat.ask(question, max_tokens=args.tokens)
            if answer.n_tokens > 1:
                speed.append(answer.timings["tokens_per_second"])
                # a step reads the cache of every earlier position: on average, mid-answer
                contexts.append(chat.llm.n_cached() - answer.n_tokens // 2)
        cold, reopened, stages = _reopen_times(chat, volume, question, args.runs)
        prefix = chat.bundle.layout.n_tokens_3d
        files = {"LLM (GGUF)": bundle.llm_path.stat().st_size,
                 "vision graphs": sum(p.stat().st_size for p in bundle.root.iterdir() if ".onnx" in p.name)}
        print(f"{bundle.name} on a scan of {'x'.join(map(str, volume.shape))} voxels; "
              f"vision on {chat.providers}, {chat.llm.n_threads} LLM threads; medians of {args.runs}")
        print(f"  {'load the bundle (graphs + GGUF)':<44}{1000 * load_s:9.1f} ms")
        for key, label in (("preprocess", "preprocess (crop, resize, window)"),
                           ("vision", "vision graphs (ONNX Runtime)"),
                           ("llm_prefix", f"image prefix into llama.cpp ({prefix} tokens)")):
            print(f"  {label:<44}{_median_ms([e[key] for e in encodes])}")
        print(vision_work(chat, statistics.median(e["vision"] for e in encodes)))
        print(f"  {'first token, scan prefix reused from cache':<44}{_median_ms(reuse)}")
        print(f"  {'first token, prefix recomputed (baseline)':<44}{_median_ms(recompute)}")
        print(f"  ratio recompute / reuse: {statistics.median(recompute) / statistics.median(reuse):.1f}x")
        print(f"  {'reopen a scan + first token, cold':<44}{_median_ms(cold)}")
        print(f"  {'reopen a scan + first token, scan cache':<44}{_median_ms(reopened)}")
        print(reopen_stages(stages))
        print(f"  ratio cold / scan cache: {statistics.median(cold) / statistics.median(reopened):.1f}x")
        if speed:
            print(f"  {'decode':<44}{statistics.median(speed):9.1f} tokens/s")
            print("\n".join(limit_report(chat.llm, statistics.median(speed), int(statistics.median(contexts)))))
        for name, size in files.items():
            print(f"  {'size of the ' + name:<44}{_mib(size)}")
        # Linux reports ru_maxrss in KiB
        print(f"  {'peak memory of this process (RSS)':<44}{_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}")
    finally:
        chat.close()
    return 0
