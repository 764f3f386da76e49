"""Both sides of the parity checks: the published code's own token ids and splice (on
transformers' tokenizer and model), and llama.cpp on the converted GGUF fed our layout.

Metric: ``max|a - b| / max|b|`` over the last position's logits, ``b`` the reference.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from convert.llm_prompt import MED2E3_SYSTEM
from published_layout import PromptLayout

IMAGE3D = "<image3d>"


def relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    """``max|ours - reference| / max|reference|``."""
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def hf_tokenizer(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)


def published_ids(layout: str, tokenize, question: str, bos_id: int | None = None,
                  n_image: int = 256) -> tuple[list[int], list[int]]:
    """The text ids before and after the image vectors, as the published code builds them.

    ``tokenize(text) -> ids`` is the published tokenizer's ``__call__`` (BOS as it adds it).
    M3D-LaMed and Med3DVLM: ``tokenizer("<im_patch>"*256 + " " + q)``, spliced as
    ``cat(E[:1], image, E[257:])``. Med-2E3: ``Template.tokenizer_special_token``.
    """
    if layout == "med2e3":
        prompt = f"{MED2E3_SYSTEM} USER: {IMAGE3D}\n{question} ASSISTANT:"
        offset = 1 if bos_id is not None and tokenize("test string")[0] == bos_id else 0
        ids: list[int] = []
        for chunk in re.split(f"({re.escape(IMAGE3D)})", prompt):
            if chunk == IMAGE3D:
                ids.append(-201)
            elif chunk:
                if not ids and offset:
                    ids.append(bos_id)
                ids.extend(tokenize(chunk)[offset:])
        cut = ids.index(-201)
        return ids[:cut], ids[cut + 1:]
    ids = tokenize("<im_patch>" * n_image + " " + question)
    return ids[:1], ids[n_image + 1:]


def reference_logits(model, before: list[int], image: np.ndarray, after: list[int]) -> np.ndarray:
    """transformers' model fed ``inputs_embeds`` = embed(before) + image + embed(after)."""
    embed = model.get_input_embeddings()
    with torch.no_grad():
        parts = [embed(torch.tensor(before)), torch.from_numpy(image), embed(torch.tensor(after))]
        logits = model(inputs_embeds=torch.cat(parts)[None]).logits[0, -1]
    return logits.double().numpy()


def llama_logits(gguf, layout: PromptLayout, image: np.ndarray, n_ctx: int = 1024,
                 exact: bool = True) -> np.ndarray:
    """llama.cpp on ``gguf`` fed our layout: tokens, image embeddings, tokens."""
    from inference.llm.runtime import LlamaRuntime

    llm = LlamaRuntime(gguf, n_ctx=n_ctx, exact_attention=exact)
    try:
        pos = llm.decode([list(layout.before)], 0, want_logits=False)
        pos = llm.decode([image], pos, want_logits=False)
        llm.decode([list(layout.after)], pos, want_logits=True)
        return llm.last_logits().astype(np.float64)
    finally:
        llm.close()


def legacy_slow_ids(sp_model, added: dict[str, int], text: str, add_bos: bool) -> list[int]:
    """transformers 4.x's slow ``LlamaTokenizer(legacy=True)``: split at added tokens, each
    piece of text encoded by SentencePiece as it is (its dummy prefix included).

    transformers 5 no longer does this (it tokenises " q" after a special token as
    legacy=False does), but the published checkpoints were trained under 4.x.
    """
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(sp_model))
    pattern = "(" + "|".join(re.escape(t) for t in sorted(added, key=len, reverse=True)) + ")"
    ids = [1] if add_bos else []
    for piece in re.split(pattern, text):
        if piece in added:
            ids.append(added[piece])
        elif piece:
            ids.extend(sp.encode(piece))
    return ids


def image_vectors(n: int, width: int, seed: int = 7) -> np.ndarray:
    """Stand-ins for projector outputs: ``n`` random vectors of ``width``."""
    return np.random.default_rng(seed).normal(0, 0.5, (n, width)).astype(np.float32)


def tensor_types(gguf) -> dict[str, str]:
    """GGUF tensor name -> its ggml type name."""
    from gguf import GGUFReader

    return {t.name: t.tensor_type.name for t in GGUFReader(str(gguf)).tensors}
