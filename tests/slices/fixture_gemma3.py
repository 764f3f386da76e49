"""A random-weight folder in MedGemma 1.5's published layout (Gemma 3 + SigLIP), at reduced width.

Same file names, config keys and tensor names as the published ``google/medgemma-1.5-4b-it``
folder: ``config.json`` with ``Gemma3ForConditionalGeneration``, ``model.safetensors`` with
``language_model.model.*``, ``vision_tower.vision_model.*`` and ``multi_modal_projector.*``
(the names llama.cpp's converter maps; transformers 5's own ``save_pretrained`` names them
otherwise), ``tokenizer.model`` (SentencePiece, no dummy prefix, Gemma's special tokens),
``tokenizer.json`` / ``tokenizer_config.json`` with the boi/eoi/image tokens, the Gemma 3 chat
template, and ``preprocessor_config.json``/``processor_config.json`` for the processor.
The vision tower keeps the published 896 px input, patch 14 and 256 tokens per image, so the
pooling, the processor's resize and the token count are the real ones; widths and depths are
small so that a slice encodes in a fraction of a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from benchmarks.slice_set_layout import CHAT_TEMPLATE  # Gemma 3's published template: one copy

CORPUS = [
    "You are an instructor teaching medical students. You are analyzing a contiguous block of CT slices.",
    "Please review the slices provided below carefully. SLICE 1 SLICE 2 SLICE 12 SLICE 85",
    "Is there a nodule in the right lung? Which lung holds the lesion? Answer yes or no.",
    "The chest CT shows a nodule in the right upper lobe. No pleural effusion is seen.",
    "Describe the findings of this CT scan. The liver and spleen are normal in size.",
    "\n\nSLICE 3\n\nSLICE 40\n\n",  # the processor's "\n\n" around each image: one piece, as in Gemma's vocabulary
]
# Gemma's ids of its first pieces (pad 0, eos 1, bos 2, unk 3, mask 4), then the turn and image markers
SPECIALS = ["<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>", "<image_soft_token>"]


def write_tokenizer(folder: Path, vocab_size: int = 420) -> dict[str, int]:
    """Train a small SentencePiece model with Gemma's settings and write the tokenizer files;
    returns the special tokens' ids."""
    import sentencepiece as spm
    from transformers import AutoTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 40), model_prefix=str(folder / "tok"), vocab_size=vocab_size,
        model_type="bpe", byte_fallback=True, split_digits=True, add_dummy_prefix=False,
        remove_extra_whitespaces=False, normalization_rule_name="identity", allow_whitespace_only_pieces=True,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", user_defined_symbols=["<mask>"] + SPECIALS, character_coverage=1.0, minloglevel=2,
        num_threads=1)
    (folder / "tok.model").replace(folder / "tokenizer.model")
    (folder / "tok.vocab").unlink()
    # transformers builds its fast tokenizer from tokenizer.model when it finds no tokenizer.json
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GemmaTokenizer", "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
        "unk_token": "<unk>", "add_bos_token": False, "add_eos_token": False}))
    tok = AutoTokenizer.from_pretrained(folder, extra_special_tokens={
        "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"})
    tok.add_special_tokens({"additional_special_tokens": SPECIALS})
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(folder)
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS + ["<bos>", "<eos>", "<pad>", "<unk>"]}
    assert len(set(ids.values())) == len(ids), ids
    # as the published tokenizer_config.json (transformers 4.5x) lists them: llama.cpp's converter
    # reads this table to mark the special tokens as control tokens
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("vocab_file", None)
    config["added_tokens_decoder"] = {
        str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                 "special": True} for t, i in sorted(ids.items(), key=lambda x: x[1])}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    return ids


def write_gemma3(folder: Path, seed: int = 0, hidden: int = 64, layers: int = 2, heads: int = 4,
                 kv_heads: int = 2, head_dim: int = 16, vision_hidden: int = 48, vision_layers: int = 2,
                 spread: float = 0.2, sliding_window: int = 64) -> dict:
    """Write the folder; returns its config dict. Weights are drawn with standard deviation
    ``spread`` so that the logits are far from uniform."""
    from safetensors.torch import save_file
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    ids = write_tokenizer(folder)
    import sentencepiece
    n_vocab = sentencepiece.SentencePieceProcessor(model_file=str(folder / "tokenizer.model")).vocab_size()
    text = dict(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=kv_heads, head_dim=head_dim, vocab_size=n_vocab,
                sliding_window=sliding_window, max_position_embeddings=32768, rope_theta=1_000_000.0,
                rope_local_base_freq=10_000.0, query_pre_attn_scalar=head_dim, rms_norm_eps=1e-6,
                final_logit_softcapping=None, attn_logit_softcapping=None, model_type="gemma3_text")
    vision = dict(hidden_size=vision_hidden, intermediate_size=2 * vision_hidden, num_hidden_layers=vision_layers,
                  num_attention_heads=4, image_size=896, patch_size=14, layer_norm_eps=1e-6,
                  vision_use_head=False, model_type="siglip_vision_model")
    config = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=256,
                          boi_token_index=ids["<start_of_image>"], eoi_token_index=ids["<end_of_image>"],
                          image_token_index=ids["<image_soft_token>"], bos_token_id=ids["<bos>"],
                          eos_token_id=[ids["<eos>"], ids["<end_of_turn>"]], pad_token_id=ids["<pad>"])
    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(config).float().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.normal_(0.0, 0.1)
            elif p.ndim >= 2:
                p.normal_(0.0, spread)
    state = {}
    for name, tensor in model.state_dict().items():
        state[_published_name(name)] = tensor.contiguous().clone()
    state.pop("lm_head.weight", None)  # tied to the token embeddings, not saved
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    data = config.to_dict()
    data["architectures"] = ["Gemma3ForConditionalGeneration"]
    (folder / "config.json").write_text(json.dumps(data, indent=2))
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "do_convert_rgb": None, "do_normalize": True, "do_pan_and_scan": None, "do_rescale": True,
        "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Gemma3ImageProcessor",
        "image_seq_length": 256, "image_std": [0.5, 0.5, 0.5], "processor_class": "Gemma3Processor",
        "resample": 2, "rescale_factor": 1 / 255, "size": {"height": 896, "width": 896}}, indent=2))
    (folder / "processor_config.json").write_text(json.dumps({"image_seq_length": 256,
                                                               "processor_class": "Gemma3Processor"}, indent=2))
    (folder / "README.md").write_text("---\nlicense: other\nlicense_name: health-ai-developer-foundations\n---\n"
                                      "# tiny random Gemma 3 in MedGemma's layout (tests only)\n")
    return data


def _published_name(name: str) -> str:
    """transformers 5's module names -> the names the published checkpoints use."""
    for ours, theirs in (("model.language_model.", "language_model.model."),
                         ("model.vision_tower.", "vision_tower.vision_model."),
                         ("model.multi_modal_projector.", "multi_modal_projector.")):
        if name.startswith(ours):
            return theirs + name[len(ours):]
    return name
