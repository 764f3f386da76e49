"""Med-2E3: Phi-3-mini-128k (longrope) from ``llm/pytorch_model.bin`` (bf16), the tokenizer
at the top level or from a folder the user names; logits equal transformers' own model."""

from __future__ import annotations

import json
import shutil

import pytest

from convert.errors import ConversionError
from convert.llm_gguf import convert_llm
from convert.llm_layouts import find_llm
from convert.llm_prompt import read_facts
from fixture_layouts import med2e3
from inference.llm.vocab import LlamaVocab
from parity import (hf_tokenizer, image_vectors, llama_logits, published_ids, reference_logits,
                    relative_error, tensor_types)
from published_layout import prompt_layout

QUESTION = "Which organ shows the lesion?"


@pytest.fixture(scope="module")
def converted(tmp_path_factory, sp_model):
    root = tmp_path_factory.mktemp("med2e3")
    ckpt = med2e3(root / "Med-2E3-M3D", sp_model)
    return ckpt, convert_llm(ckpt.folder, root / "work", ("q8_0",), base_type="f32", keep_llm_folder=True)


def test_llm_folder_and_gguf(converted):
    ckpt, result = converted
    assert result.source.layout == "med2e3" and result.source.family == "phi3"
    config = json.loads((result.llm_folder / "config.json").read_text())
    assert config["vocab_size"] == 448 and "auto_map" not in config  # padded rows kept
    assert (result.llm_folder / "pytorch_model.bin").resolve() == (ckpt.folder / "llm" / "pytorch_model.bin").resolve()
    types = tensor_types(result.ggufs["f32"])
    assert "rope_factors_long.weight" in types and "rope_factors_short.weight" in types
    assert types["blk.0.attn_qkv.weight"] == "F32"  # bf16 weights widened exactly


def test_prompt_ids_and_logits_match_transformers(converted):
    ckpt, result = converted
    gguf = result.ggufs["f32"]
    facts = read_facts(result.source, gguf)
    assert facts.prompt_has_bos is False and facts.image_token_id is None and facts.n_image == 512
    assert facts.stop_ids == (ckpt.token_ids["<|endoftext|>"],)
    vocab = LlamaVocab(gguf)
    ours = prompt_layout(facts, QUESTION, vocab.tokenize)
    tok = hf_tokenizer(ckpt.folder)
    before, after = published_ids("med2e3", lambda t: tok(t).input_ids, QUESTION, bos_id=tok.bos_token_id)
    assert (list(ours.before), list(ours.after)) == (before, after)
    image = image_vectors(512, facts.n_embd)
    reference = reference_logits(ckpt.reference_model(), before, image, after)
    assert relative_error(llama_logits(gguf, ours, image), reference) < 1e-3
    q8 = llama_logits(result.ggufs["q8_0"], ours, image)
    assert relative_error(q8, reference) < 0.1


def test_tokenizer_from_a_named_folder(tmp_path, sp_model):
    ckpt = med2e3(tmp_path / "ckpt", sp_model)
    tokenizer = tmp_path / "phi3-tokenizer"
    tokenizer.mkdir()
    for name in ("tokenizer.model", "tokenizer_config.json", "added_tokens.json", "special_tokens_map.json"):
        shutil.move(ckpt.folder / name, tokenizer / name)
    with pytest.raises(ConversionError, match="has no tokenizer files"):
        find_llm(ckpt.folder)
    source = find_llm(ckpt.folder, tokenizer_dir=tokenizer)
    assert {p.parent for p in source.tokenizer_files} == {tokenizer}
