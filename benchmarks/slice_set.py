"""``ctchat bench bundle`` for a slice-set bundle (MedGemma 1.5 through llama.cpp's mtmd).

Each figure beside its baseline, measured in the same run:

* per-slice encode (the projector, mtmd) in seconds and GFLOP/s, against the fp32 matmul peak
  measured now (:mod:`.matmul_peak`); the GFLOP come from the projector's shape (matmuls
  ``2 * params * patches`` plus attention ``4 * patches^2 * width`` per layer);
* prefill tokens/s of the slices' prefix and decode tokens/s of an answer through ctchat,
  against bare llama.cpp given the same GGUF, the same embeddings and token ids, threads,
  batch size and attention settings in a minimal ``llama_decode`` loop (llama-cpp-python's
  low-level API only, in a child process so that its memory is not this run's);
* first token of a reopened scan from the scan cache against a cold start (render, encode,
  prefill, question);
* this process's peak memory, and the KV cache llama.cpp allocates for a context sized for 85
  slices (its own log), for whether 85 slices fit in 6 GB.

The time for 85 slices is extrapolated from the slices measured, and said to be.
"""

from __future__ import annotations

import ctypes
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FULL_SLICES = 85
CPU_SLICES = 4  # default --slices on the CPU: a full-size slice takes minutes to encode on 2 cores
GOAL_RATIO, GOAL_REOPEN = 0.95, 10.0
KV_LINE = re.compile(r"KV buffer size\s*=\s*([\d.]+) MiB")
COMPUTE_LINE = re.compile(r"compute buffer size\s*=\s*([\d.]+) MiB")


def projector_gflop(mmproj: Path) -> float:
    """GFLOP one image costs the projector, from its GGUF's shape: per layer the matmuls
    (``2 * params * patches``) and attention (``4 * patches^2 * width``), plus the patch
    embedding and the projection of the pooled tokens to the text model's width."""
    from gguf import GGUFReader

    fields = GGUFReader(str(mmproj)).fields

    def key(name: str) -> int:
        return int(fields[f"clip.vision.{name}"].contents())

    width, ffn, layers, patch = key("embedding_length"), key("feed_forward_length"), key("block_count"), key("patch_size")
    patches = (key("image_size") // patch) ** 2
    per_layer = 2 * (4 * width * width + 2 * width * ffn) * patches + 4 * patches**2 * width
    embed = 2 * patches * 3 * patch * patch * width
    tokens = 256  # Gemma 3 pools to 16 x 16
    return (layers * per_layer + embed + 2 * tokens * width * key("projection_dim")) / 1e9


def _row(label: str, value: str) -> str:
    return f"  {label:<52}{value}"


def run_slice_set(bundle, args) -> int:
    """Measure and print (see the module docstring)."""
    import resource
    import statistics

    from inference.chat import open_session
    from inference.chat.slice_session import context_size
    from inference.chat.scan_cache import ScanCache
    from inference.io import load_volume
    from inference.llm.library import llama_library
    from inference.question import Question
    from inference.resources import DEMO_CT

    from .matmul_peak import best_rate, matmul_rates

    gpu = args.device != "cpu" and bool(llama_library().llama_supports_gpu_offload())
    slices = args.slices or (FULL_SLICES if gpu else CPU_SLICES)
    volume = load_volume(args.scan or DEMO_CT)
    t0 = time.perf_counter()
    chat = open_session(bundle, device=args.device, n_threads=args.threads, slices=slices)
    load_s = time.perf_counter() - t0
    question = Question("open", args.question)
    cold, reopened, encodes, prefix_tokens = [], [], [], 0
    with tempfile.TemporaryDirectory(prefix="ctchat-bench-slices-") as folder:
        for n in range(args.runs):
            chat.scan_cache = ScanCache(Path(folder) / str(n))  # empty: the first open is cold
            for times in (cold, reopened):
                t0 = time.perf_counter()
                timings = chat.load_scan(volume)
                if times is cold:
                    prefix_tokens = chat.llm.n_cached()
                chat.first_token_logits(question)
                times.append(time.perf_counter() - t0)
                if times is cold:
                    encodes.append(timings)
        hits = chat.from_cache
        answer = chat.ask(question, max_tokens=args.tokens)
    n_sent = len(chat.sent_slices)
    chunks, question_ids = _model_inputs(chat, question)
    settings = {"model": str(bundle.llm_path), "n_ctx": chat.llm.n_ctx, "n_batch": chat.llm.n_batch,
                "threads": chat.llm.n_threads, "flash": chat.llm.flash_attention, "gpu": chat.llm.offload.on_gpu > 0,
                "bidirectional": chat.projector.bidirectional, "tokens": answer.n_tokens, "runs": args.runs,
                "kv_ctx": context_size(bundle.slice_recipe, FULL_SLICES),
                "swa_full": chat.llm.full_swa_cache, "n_seq": chat.llm.n_seq}
    threads, on_gpu = chat.llm.n_threads, settings["gpu"]
    chat.close()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    bare = bare_llama(settings, chunks, question_ids)
    rates = matmul_rates(threads)

    med = {k: statistics.median(e[k] for e in encodes) for k in encodes[0]}
    per_slice = med["vision"] / n_sent
    gflop = projector_gflop(bundle.projector_path)
    peak = best_rate(rates)
    ours_prefill = prefix_tokens / med["llm_prefix"]
    print(f"{bundle.name}: {n_sent} slices of a {'x'.join(map(str, volume.shape))} scan; {threads} threads, "
          f"{'GPU' if on_gpu else 'CPU'}; medians of {args.runs}")
    print(_row("load the bundle (GGUF + projector)", f"{load_s:9.1f} s"))
    print(_row("render the slices", f"{med['preprocess']:9.2f} s"))
    print(_row("per-slice encode (projector, mtmd)", f"{per_slice:9.2f} s"))
    print(_row("  work per slice (from the projector's shape)", f"{gflop:9.0f} GFLOP"))
    print(_row("  encode rate", f"{gflop / per_slice:9.1f} GFLOP/s"))
    share = f"{gflop / per_slice / peak:.2f}" if not on_gpu else "n/a (encoder on the GPU)"
    print(_row("  fp32 matmul peak measured now (best library)", f"{peak:9.1f} GFLOP/s -> fraction {share}"))
    print("    " + ", ".join(f"{k} {v:.1f}" for k, v in rates.items()) + " GFLOP/s")
    print(_row(f"prefill of the slices' prefix, ctchat ({prefix_tokens} tok)", f"{ours_prefill:9.1f} tokens/s"))
    print(_row("prefill, bare llama.cpp (same inputs)", f"{bare['prefill_tps']:9.1f} tokens/s"))
    print(f"    ratio ctchat / bare: {ours_prefill / bare['prefill_tps']:.2f} (goal >= {GOAL_RATIO})")
    ours_decode = answer.timings["tokens_per_second"]
    if answer.n_tokens > 1 and bare.get("decode_tps"):
        print(_row(f"decode of the answer, ctchat ({answer.n_tokens} tok)", f"{ours_decode:9.2f} tokens/s"))
        print(_row("decode, bare llama.cpp (same token count)", f"{bare['decode_tps']:9.2f} tokens/s"))
        print(f"    ratio ctchat / bare: {ours_decode / bare['decode_tps']:.2f} (goal >= {GOAL_RATIO})")
    else:
        print(_row("decode of the answer", f"the answer ended after {answer.n_tokens} token(s): no rate"))
    print(_row("first token, cold (render + encode + prefill)", f"{statistics.median(cold):9.2f} s"))
    print(_row("first token, reopened from the scan cache", f"{statistics.median(reopened):9.2f} s"
               + ("" if hits else " (MISSED the cache)")))
    print(f"    ratio cold / reopened: {statistics.median(cold) / statistics.median(reopened):.1f}x "
          f"(goal >= {GOAL_REOPEN:g}x)")
    _print_full_size(bundle, settings, bare, med, n_sent, prefix_tokens, ours_prefill, peak_rss)
    return 0


def _print_full_size(bundle, settings, bare, med, n_sent, prefix_tokens, prefill_tps, peak_rss) -> None:
    """Peak memory, the KV cache at 85 slices, and the 85-slice time (extrapolated)."""
    gib = 2**30
    print(_row("peak memory of this process (RSS)", f"{peak_rss / gib:9.2f} GiB"))
    kv_85, kv_n = bare["kv_mib_full"] * 2**20, bare["kv_mib"] * 2**20
    compute_85, compute_n = bare["compute_mib_full"] * 2**20, bare["compute_mib"] * 2**20
    print(_row(f"KV cache, llama.cpp's, {settings['kv_ctx']} positions ({FULL_SLICES} slices)",
               f"{kv_85 / gib:9.2f} GiB (compute buffers {compute_85 / gib:.2f} GiB)"))
    print(_row(f"KV cache of this run ({settings['n_ctx']} positions)", f"{kv_n / gib:9.2f} GiB"))
    at_85 = peak_rss - kv_n - compute_n + kv_85 + compute_85
    files = bundle.llm_path.stat().st_size + bundle.projector_path.stat().st_size
    verdict = "fits in" if at_85 <= 6e9 else "does NOT fit in"
    print(_row(f"memory at {FULL_SLICES} slices (estimate: peak - KV here + KV 85)",
               f"{at_85 / gib:9.2f} GiB: {verdict} 6 GB (GGUF files {files / gib:.2f} GiB)"))
    if n_sent < FULL_SLICES:
        tokens_85 = prefix_tokens / n_sent * FULL_SLICES
        encode_85 = med["vision"] / n_sent * FULL_SLICES
        prefill_85 = tokens_85 / prefill_tps
        print(_row(f"EXTRAPOLATED: {FULL_SLICES} slices' encode", f"{encode_85:9.0f} s"))
        print(_row(f"EXTRAPOLATED: their prefill (~{tokens_85:.0f} tok, rate of {n_sent})", f"{prefill_85:9.0f} s"))
        print(_row("EXTRAPOLATED: cold first token at 85 slices", f"{encode_85 + prefill_85:9.0f} s"))
        print(f"    (linear in the slices from {n_sent} measured; attention grows with the prefix, so the "
              f"prefill is a lower bound)")


def _model_inputs(chat, question) -> tuple[list[np.ndarray], list[int]]:
    """The slices' prefix as ctchat decodes it (token ids, then each slice's embeddings) and
    the question's ids, for the bare baseline."""
    sequence = chat.sequence(question)
    embeddings = chat.scan_outputs["slice_embeddings"]
    chunks: list[np.ndarray] = []
    for text, image in zip(sequence.prefix, embeddings):
        ids = chat.llm.tokenize(text)
        if ids:
            chunks.append(np.asarray(ids, np.int32))
        chunks.append(np.ascontiguousarray(image, np.float32))
    return chunks, chat.llm.tokenize(sequence.texts[-1])


def bare_llama(settings: dict, chunks: list[np.ndarray], question_ids: list[int]) -> dict:
    """Run :func:`_bare_main` in a child process on the same inputs; its JSON result."""
    with tempfile.TemporaryDirectory(prefix="ctchat-bench-bare-") as folder:
        inputs = Path(folder) / "inputs.npz"
        np.savez(inputs, question=np.asarray(question_ids, np.int32), **{f"c{n}": c for n, c in enumerate(chunks)})
        done = subprocess.run([sys.executable, __file__, json.dumps({**settings, "inputs": str(inputs)})],
                              capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the bare llama.cpp baseline failed: {done.stderr.strip()[-600:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the bare baseline: llama-cpp-python's low-level API only, no ctchat code ----------------


def _bare_main(cfg: dict) -> dict:
    """Prefill the chunks, decode the question, generate ``tokens`` greedy tokens (ends of
    generation ignored, so that the count is ctchat's), timed as ctchat times them; then the KV
    and compute buffers llama.cpp allocates for this context and for ``kv_ctx`` positions."""
    import llama_cpp as ll

    log: list[str] = []
    callback = ll.llama_log_callback(lambda level, text, user: log.append(text.decode("utf-8", "replace")))
    ll.llama_log_set(callback, ctypes.c_void_p(0))
    ll.llama_backend_init()
    mparams = ll.llama_model_default_params()
    mparams.n_gpu_layers = -1 if cfg["gpu"] else 0
    model = ll.llama_model_load_from_file(cfg["model"].encode(), mparams)
    data = np.load(cfg["inputs"])
    chunks = [data[f"c{n}"] for n in range(len(data.files) - 1)]
    question = data["question"]

    def context(n_ctx: int):
        params = ll.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = n_ctx, cfg["n_batch"], cfg["n_batch"]
        params.n_threads = params.n_threads_batch = cfg["threads"]
        params.no_perf = True
        params.swa_full, params.n_seq_max, params.kv_unified = cfg["swa_full"], cfg["n_seq"], True  # as ctchat's
        if not cfg["flash"]:
            params.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
        log.clear()
        ctx = ll.llama_init_from_model(model, params)
        text = "".join(log)
        return ctx, sum(map(float, KV_LINE.findall(text))), sum(map(float, COMPUTE_LINE.findall(text)))

    ctx, kv_mib, compute_mib = context(cfg["n_ctx"])
    n_embd = ll.llama_model_n_embd(model)

    def decode(chunk: np.ndarray, pos: int, logits_last: bool) -> int:
        embd = n_embd if chunk.ndim == 2 else 0
        whole = bool(embd) and cfg["bidirectional"]
        if whole:
            ll.llama_set_causal_attn(ctx, False)
        for start in range(0, len(chunk), cfg["n_batch"]):
            part = np.ascontiguousarray(chunk[start:start + cfg["n_batch"]])
            batch = ll.llama_batch_init(len(part), embd, 1)
            if embd:
                ctypes.memmove(batch.embd, part.ctypes.data, part.nbytes)
            for n in range(len(part)):
                if not embd:
                    batch.token[n] = int(part[n])
                batch.pos[n], batch.n_seq_id[n], batch.logits[n] = pos + n, 1, 0
                batch.seq_id[n][0] = 0
            batch.logits[len(part) - 1] = int(logits_last and start + len(part) == len(chunk))
            batch.n_tokens = len(part)
            status = ll.llama_decode(ctx, batch)
            ll.llama_batch_free(batch)
            if status != 0:
                raise RuntimeError(f"llama_decode returned {status}")
            pos += len(part)
        if whole:
            ll.llama_set_causal_attn(ctx, True)
        return pos

    prefill = []
    for _ in range(cfg["runs"]):
        ll.llama_memory_clear(ll.llama_get_memory(ctx), True)
        t0, pos = time.perf_counter(), 0
        for chunk in chunks:
            pos = decode(chunk, pos, False)
        prefill.append(pos / (time.perf_counter() - t0))
    pos = decode(question, pos, True)
    sampler = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
    ll.llama_sampler_chain_add(sampler, ll.llama_sampler_init_greedy())
    token = ll.llama_sampler_sample(sampler, ctx, -1)
    t0 = time.perf_counter()
    for _ in range(cfg["tokens"]):  # as ctchat: each sampled token decoded, (n - 1) / the time
        pos = decode(np.asarray([token], np.int32), pos, True)
        token = ll.llama_sampler_sample(sampler, ctx, -1)
    decode_s = time.perf_counter() - t0
    ll.llama_sampler_free(sampler)
    ll.llama_free(ctx)
    ctx_full, kv_full, compute_full = context(cfg["kv_ctx"])
    ll.llama_free(ctx_full)
    ll.llama_model_free(model)
    return {"prefill_tps": float(np.median(prefill)),
            "decode_tps": (cfg["tokens"] - 1) / decode_s if cfg["tokens"] > 1 else 0.0,
            "kv_mib": kv_mib, "compute_mib": compute_mib, "kv_mib_full": kv_full, "compute_mib_full": compute_full}


if __name__ == "__main__":
    print(json.dumps(_bare_main(json.loads(sys.argv[1]))))
