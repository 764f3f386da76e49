"""A full-size random model in MedGemma 1.5's layout, written straight to GGUF for benchmarks.

Two files, as a converted and quantised MedGemma 1.5 4B bundle holds them, with random weights:

* ``model.gguf``: the ``gemma3`` text model (2560 wide, 34 layers, 8 heads, 4 KV heads of 256,
  FFN 10240, vocabulary 262,208) with llama.cpp's Q4_K_M choice of tensor types: Q6_K for the
  token embedding (tied to the output head) and for ``attn_v``/``ffn_down`` of the layers
  llama.cpp gives more bits to, Q4_K for every other matrix, f32 norms. The quantised blocks
  are random bytes with small fixed block scales, so that no weight is NaN or Inf and the
  activations stay moderate; the vocabulary has Gemma 3's special tokens at their ids and the
  Gemma 3 chat template.
* ``mmproj.gguf``: the ``clip`` projector of type ``gemma3`` (SigLIP 1152 wide, 27 layers, 16
  heads, FFN 4304, patch 14 at 896 px, 256 tokens projected to 2560) in f16.

Key and tensor names are those llama.cpp's converter writes for Gemma 3 (checked against the
tiny converted model of tests/slices/tiny_bundle.py). Tensors are streamed to disk one at a
time: no safetensors, no 8 GB intermediate. The weights decide no timing a benchmark reports.

Example:
    $ python -m benchmarks.slice_set_layout --out /tmp/medgemma-layout
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

TEXT = dict(hidden=2560, layers=34, heads=8, kv_heads=4, head_dim=256, ffn=10240, vocab=262_208,
            sliding_window=1024, context=131_072)
VISION = dict(hidden=1152, layers=27, heads=16, ffn=4304, patch=14, image=896, tokens=256)
# Gemma 3's special tokens at their ids (the rest of its vocabulary is filler here)
SPECIAL_IDS = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<mask>": 4, "<start_of_turn>": 105,
               "<end_of_turn>": 106, "<start_of_image>": 255_999, "<end_of_image>": 256_000,
               "<image_soft_token>": 262_144}
BYTE_TOKENS_AT = 238  # Gemma's <0x00>..<0xFF>
Q4_D, Q4_DMIN, Q6_D = 0.0005, 0.00375, 0.0001  # dmin = 7.5 d: Q4_K weights about zero-mean
VISION_STD = 0.02
# words of the prompts ctchat writes, so that its text tokenizes to a realistic length
CORPUS = ("You are an instructor teaching medical students. You are analyzing a contiguous block of CT "
          "slices. Please review the slices provided below carefully. SLICE user model Where is the "
          "lesion located? Is there a nodule in the right lung? Answer yes or no. Describe the findings.")
# Gemma's chat template as published with Gemma 3 and MedGemma (the tiny test fixture,
# tests/slices/fixture_gemma3.py, uses this copy too)
CHAT_TEMPLATE = (
    "{{ bos_token }}\n"
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n"
    "    {%- else -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n"
    "    {%- endif -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    "    {%- set first_user_prefix = \"\" -%}\n"
    "    {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'assistant') -%}\n"
    "        {%- set role = \"model\" -%}\n"
    "    {%- else -%}\n"
    "        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n"
    "                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n"
    "        {%- endfor -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<end_of_turn>\n' }}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "    {{'<start_of_turn>model\n'}}\n"
    "{%- endif -%}\n"
)
TokenTable = tuple[list[str], list[float], list[int]]
Tensor = tuple[str, tuple[int, ...], Callable[[], np.ndarray], object]  # name, shape, maker, quant type or dtype


def vocabulary(n_vocab: int = TEXT["vocab"]) -> TokenTable:
    """Tokens, scores and llama.cpp token types of a SentencePiece vocabulary in Gemma 3's shape:
    its specials at their ids, byte tokens, pieces of the prompts' words (every prefix, so that
    SentencePiece's merges reach the whole word), and unique filler."""
    from gguf import TokenType

    tokens: list[str | None] = [None] * n_vocab
    types = [int(TokenType.NORMAL)] * n_vocab
    scores = [-1e4] * n_vocab
    for text, i in SPECIAL_IDS.items():
        tokens[i], types[i] = text, int(TokenType.UNKNOWN if text == "<unk>" else TokenType.CONTROL)
    for b in range(256):
        tokens[BYTE_TOKENS_AT + b], types[BYTE_TOKENS_AT + b] = f"<0x{b:02X}>", int(TokenType.BYTE)
    pieces = ["\n" * k for k in range(1, 9)] + ["▁" * k for k in range(1, 9)]
    pieces += [chr(c) for c in range(33, 127)] + ["▁" + chr(c) for c in range(33, 127)]
    words = {w for w in CORPUS.replace("?", " ").replace(".", " ").split()} | {str(d) for d in range(10)}
    for word in sorted(words):
        for start in ("", "▁"):
            pieces += [start + word[:k] for k in range(2, len(word) + 1)]
    free = (i for i in range(n_vocab) if tokens[i] is None)
    for piece in dict.fromkeys(pieces):  # in order, once each
        i = next(free)
        tokens[i], scores[i] = piece, float(len(piece))  # longer pieces merge first
    for i in free:
        tokens[i], types[i] = f"<unused{i}>", int(TokenType.UNUSED)
    return tokens, scores, types  # type: ignore[return-value]


def _more_bits(layer: int, n_layers: int) -> bool:
    """llama.cpp's ``use_more_bits``: the layers whose attn_v/ffn_down Q4_K_M stores as Q6_K."""
    return layer < n_layers // 8 or layer >= 7 * n_layers // 8 or (layer - n_layers // 8) % 3 == 2


def _quantised(rng: np.random.Generator, rows: int, cols: int, kind) -> np.ndarray:
    """Random Q4_K or Q6_K blocks (uint8, one row of blocks per matrix row) with fixed scales."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    block, size = GGML_QUANT_SIZES[kind]
    blocks = np.frombuffer(rng.bytes(rows * cols // block * size), np.uint8).reshape(-1, size).copy()
    if kind == GGMLQuantizationType.Q4_K:  # d, dmin, 12 scale bytes, 128 quant bytes
        blocks[:, 0:4] = np.array([Q4_D, Q4_DMIN], np.float16).view(np.uint8)
    else:  # Q6_K: 128 ql, 64 qh, 16 int8 scales, d
        blocks[:, 208:210] = np.array([Q6_D], np.float16).view(np.uint8)
    return blocks.reshape(rows, cols // block * size)


def text_tensors(rng: np.random.Generator) -> Iterator[Tensor]:
    """The text model's tensors in the converter's order: (name, numpy shape, maker, raw type)."""
    from gguf import GGMLQuantizationType as Q

    t = TEXT
    hidden, q_out, kv_out = t["hidden"], t["heads"] * t["head_dim"], t["kv_heads"] * t["head_dim"]

    def matrix(rows: int, cols: int, kind) -> tuple[tuple[int, ...], Callable[[], np.ndarray], object]:
        return (rows, cols), lambda: _quantised(rng, rows, cols, kind), kind

    def norm(n: int) -> tuple[tuple[int, ...], Callable[[], np.ndarray], object]:
        return (n,), lambda: (1.0 + 0.05 * rng.standard_normal(n)).astype(np.float32), np.float32

    yield ("token_embd.weight", *matrix(t["vocab"], hidden, Q.Q6_K))
    for i in range(t["layers"]):
        more = Q.Q6_K if _more_bits(i, t["layers"]) else Q.Q4_K
        p = f"blk.{i}."
        yield (p + "attn_norm.weight", *norm(hidden))
        yield (p + "attn_q.weight", *matrix(q_out, hidden, Q.Q4_K))
        yield (p + "attn_k.weight", *matrix(kv_out, hidden, Q.Q4_K))
        yield (p + "attn_v.weight", *matrix(kv_out, hidden, more))
        yield (p + "attn_output.weight", *matrix(hidden, q_out, Q.Q4_K))
        yield (p + "attn_q_norm.weight", *norm(t["head_dim"]))
        yield (p + "attn_k_norm.weight", *norm(t["head_dim"]))
        yield (p + "post_attention_norm.weight", *norm(hidden))
        yield (p + "ffn_norm.weight", *norm(hidden))
        yield (p + "ffn_gate.weight", *matrix(t["ffn"], hidden, Q.Q4_K))
        yield (p + "ffn_up.weight", *matrix(t["ffn"], hidden, Q.Q4_K))
        yield (p + "ffn_down.weight", *matrix(hidden, t["ffn"], more))
        yield (p + "post_ffw_norm.weight", *norm(hidden))
    yield ("output_norm.weight", *norm(hidden))


def vision_tensors(rng: np.random.Generator) -> Iterator[Tensor]:
    """The projector's tensors (f16 matrices, f32 vectors, patch and position embeddings)."""
    v = VISION
    width, patches = v["hidden"], (v["image"] // v["patch"]) ** 2

    def normal(shape: tuple[int, ...], dtype) -> tuple[tuple[int, ...], Callable[[], np.ndarray], object]:
        return shape, lambda: (VISION_STD * rng.standard_normal(shape, np.float32)).astype(dtype), dtype

    def const(n: int, value: float) -> tuple[tuple[int, ...], Callable[[], np.ndarray], object]:
        return (n,), lambda: np.full(n, value, np.float32), np.float32

    yield ("mm.input_projection.weight", *normal((width, TEXT["hidden"]), np.float16))
    yield ("mm.soft_emb_norm.weight", *const(width, 1.0))
    yield ("v.patch_embd.bias", *const(width, 0.0))
    yield ("v.patch_embd.weight", *normal((width, 3, v["patch"], v["patch"]), np.float32))
    yield ("v.position_embd.weight", *normal((patches, width), np.float32))
    for i in range(v["layers"]):
        p = f"v.blk.{i}."
        for ln in ("ln1", "ln2"):
            yield (p + ln + ".bias", *const(width, 0.0))
            yield (p + ln + ".weight", *const(width, 1.0))
        yield (p + "ffn_up.bias", *const(v["ffn"], 0.0))
        yield (p + "ffn_up.weight", *normal((v["ffn"], width), np.float16))
        yield (p + "ffn_down.bias", *const(width, 0.0))
        yield (p + "ffn_down.weight", *normal((width, v["ffn"]), np.float16))
        for name in ("attn_k", "attn_out", "attn_q", "attn_v"):
            yield (p + name + ".bias", *const(width, 0.0))
            yield (p + name + ".weight", *normal((width, width), np.float16))
    yield ("v.post_ln.bias", *const(width, 0.0))
    yield ("v.post_ln.weight", *const(width, 1.0))


def _write(path: Path, writer, tensors: list[Tensor]) -> None:
    """Stream ``tensors`` into ``writer`` (its keys already added): infos first, then each
    tensor's data made and written one at a time."""
    from gguf import GGML_QUANT_SIZES

    for name, shape, _, kind in tensors:
        if kind in (np.float16, np.float32):
            writer.add_tensor_info(name, shape, np.dtype(kind), int(np.prod(shape)) * np.dtype(kind).itemsize)
        else:
            raw = kind
            block, size = GGML_QUANT_SIZES[raw]
            byte_shape = (shape[0], shape[1] // block * size)
            writer.add_tensor_info(name, byte_shape, np.dtype(np.uint8), int(np.prod(byte_shape)), raw_dtype=raw)
    writer.write_header_to_file(path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, _, make, _ in tensors:
        writer.write_tensor_data(make())
    writer.close()


def write_text_model(path: Path, seed: int = 0) -> Path:
    """Write ``model.gguf`` (see the module docstring)."""
    import gguf

    t, w = TEXT, gguf.GGUFWriter(str(path), "gemma3")
    w.add_type("model")
    w.add_name("random MedGemma 1.5 layout (benchmarks only)")
    w.add_block_count(t["layers"])
    w.add_context_length(t["context"])
    w.add_embedding_length(t["hidden"])
    w.add_feed_forward_length(t["ffn"])
    w.add_head_count(t["heads"])
    w.add_head_count_kv(t["kv_heads"])
    w.add_rope_freq_base(1_000_000.0)
    w.add_float32("gemma3.rope.freq_base_swa", 10_000.0)
    w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
    w.add_rope_scaling_factor(8.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_key_length(t["head_dim"])
    w.add_value_length(t["head_dim"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    w.add_sliding_window(t["sliding_window"])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    tokens, scores, types = vocabulary()
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(SPECIAL_IDS["<bos>"])
    w.add_eos_token_id(SPECIAL_IDS["<eos>"])
    w.add_unk_token_id(SPECIAL_IDS["<unk>"])
    w.add_pad_token_id(SPECIAL_IDS["<pad>"])
    w.add_mask_token_id(SPECIAL_IDS["<mask>"])
    w.add_chat_template(CHAT_TEMPLATE)
    w.add_add_space_prefix(False)
    _write(path, w, list(text_tensors(np.random.default_rng(seed))))
    return path


def write_projector(path: Path, seed: int = 1) -> Path:
    """Write ``mmproj.gguf`` (see the module docstring)."""
    import gguf

    v, w = VISION, gguf.GGUFWriter(str(path), "clip")
    w.add_type("mmproj")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_uint32("clip.vision.projection_dim", TEXT["hidden"])
    w.add_uint32("clip.vision.image_size", v["image"])
    w.add_uint32("clip.vision.patch_size", v["patch"])
    w.add_uint32("clip.vision.embedding_length", v["hidden"])
    w.add_uint32("clip.vision.feed_forward_length", v["ffn"])
    w.add_uint32("clip.vision.block_count", v["layers"])
    w.add_uint32("clip.vision.attention.head_count", v["heads"])
    w.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    w.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    w.add_string("clip.projector_type", "gemma3")
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    w.add_bool("clip.use_gelu", True)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _write(path, w, list(vision_tensors(np.random.default_rng(seed))))
    return path


def write_layout_bundle(out: Path) -> Path:
    """Both GGUFs and a slice-set manifest (the published recipe: up to 85 slices) in ``out``."""
    from inference.bundle import SLICE_SET, write_manifest
    from inference.slices.prompt import SlicePromptFormat
    from inference.slices.recipe import SliceRecipe

    out.mkdir(parents=True, exist_ok=True)
    write_text_model(out / "model.gguf")
    write_projector(out / "mmproj.gguf")
    tasks = {"open": "{question}", "report": "Write the findings of these CT slices.",
             "yes_no": "Is there {disease} in these CT slices? Answer yes or no.",
             "choice": "{question} Choose one: {choices}"}
    write_manifest(out, {
        "kind": SLICE_SET, "name": "random-medgemma-1.5-layout", "version": "1", "licence": "benchmarks only",
        "intended_use": "benchmarks", "training": {"trained": False},
        "llm": {"file": "model.gguf", "type": "q4_k_m"}, "projector": {"file": "mmproj.gguf", "type": "f16"},
        "slice_recipe": SliceRecipe().to_dict(), "slice_prompt": SlicePromptFormat().to_dict(),
        "prompt_format": {"tasks": tasks, "stop": []},
    }, files=[])
    return out


def check_bundle(out: Path, n_threads: int | None = None) -> str:
    """Load the text model in ctchat's runtime, decode a prompt and encode one image with the
    projector; a line saying what came out (raises when llama.cpp refuses a file or a value
    is not finite)."""
    from inference.llm.projector import VisionProjector
    from inference.llm.runtime import LlamaRuntime

    llm = LlamaRuntime(out / "model.gguf", n_ctx=1024, n_threads=n_threads)
    projector = VisionProjector(out / "mmproj.gguf", llm, n_threads=n_threads, use_gpu=False)
    try:
        ids = llm.tokenize("<bos><start_of_turn>user\nWhere is the lesion located?<end_of_turn>\n")
        t0 = time.perf_counter()
        image = projector.encode(np.full((512, 512, 3), 128, np.uint8))
        encode_s = time.perf_counter() - t0
        llm.decode([ids[:-3], image, ids[-3:]], 0, bidirectional_images=projector.bidirectional)
        logits = llm.last_logits()
        if not (np.isfinite(image).all() and np.isfinite(logits).all()):
            raise ValueError("the random model made a value that is not finite")
        return (f"loads in llama.cpp: {llm.n_vocab} tokens, width {llm.n_embd}; one image -> {image.shape[0]} "
                f"tokens in {encode_s:.1f} s; {len(ids)} prompt tokens; logits finite")
    finally:
        projector.close()
        llm.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None, help="folder to write (kept); default: a temporary "
                                                          "folder under /tmp, removed after unless --keep")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--no-check", action="store_true", help="skip loading it in llama.cpp (a minute or two)")
    args = p.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="ctchat-medgemma-layout-"))
    try:
        t0 = time.perf_counter()
        write_layout_bundle(out)
        sizes = ", ".join(f"{f.name} {f.stat().st_size / 2**30:.2f} GiB" for f in sorted(out.glob("*.gguf")))
        print(f"wrote {out} in {time.perf_counter() - t0:.0f} s: {sizes}")
        if not args.no_check:
            print(check_bundle(out))
    finally:
        if args.out is None and not args.keep:
            shutil.rmtree(out, ignore_errors=True)
            print(f"removed {out} (--keep keeps it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
