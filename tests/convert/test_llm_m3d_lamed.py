"""M3D-LaMed (Phi-3 and Llama-2 layouts): the LLM converts to a GGUF whose logits on a
spliced prompt equal transformers' own model, with the published tokenizer's ids."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convert.llm_gguf import convert_llm
from convert.llm_prompt import read_facts
from convert.steps import sha256_file
from fixture_layouts import m3d_lamed
from inference.llm.vocab import LlamaVocab
from parity import (hf_tokenizer, image_vectors, legacy_slow_ids, llama_logits, published_ids,
                    reference_logits, relative_error, tensor_types)
from published_layout import prompt_layout

QUESTION = "What is the abnormality in this image? Where is it located?"
TOLERANCE = 1e-3  # max|llama.cpp - transformers| / max|transformers|, last position's logits


@pytest.fixture(scope="module")
def phi3(tmp_path_factory, sp_model):
    root = tmp_path_factory.mktemp("lamed_phi3")
    ckpt = m3d_lamed(root / "M3D-LaMed-Phi-3-4B", sp_model, "phi3")
    before = {p.name: sha256_file(p) for p in ckpt.folder.iterdir()}
    events = []
    result = convert_llm(ckpt.folder, root / "work", ("q8_0", "q4_k_m"), base_type="f32",
                         keep_llm_folder=True, progress=events.append)
    return ckpt, result, events, before




def _parity(ckpt, source, gguf, tokenize, question=QUESTION):
    facts = read_facts(source, gguf)
    vocab = LlamaVocab(gguf)
    ours = prompt_layout(facts, question, vocab.tokenize)
    before, after = published_ids("m3d_lamed", tokenize, question)
    assert (list(ours.before), list(ours.after)) == (before, after)
    image = image_vectors(256, facts.n_embd)
    reference = reference_logits(ckpt.reference_model(), before, image, after)
    return facts, ours, image, reference


def test_llm_folder_holds_only_the_llm(phi3):
    ckpt, result, _, before = phi3
    folder = result.llm_folder
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["Phi3ForCausalLM"] and config["model_type"] == "phi3"
    assert config["vocab_size"] == 415 == result.summary["rows"] and "auto_map" not in config
    assert config["original_max_position_embeddings"] == 4096  # llama.cpp's Phi-3 path needs it
    from safetensors import safe_open

    names = set()
    for shard in folder.glob("*.safetensors"):
        with safe_open(str(shard), "pt") as f:
            names |= set(f.keys())
    assert names == set(ckpt.state_dict)
    # the LLM-only source shard is linked, the two mixed ones rewritten
    assert result.summary["linked"] == ["model-00002-of-00003.safetensors"]
    assert (folder / "model-00002-of-00003.safetensors").resolve() == (ckpt.folder / "model-00002-of-00003.safetensors").resolve()
    assert result.summary["dropped"] == {"model.mm_projector": 2, "model.seg_module": 2,
                                         "model.seg_projector": 1, "model.vision_tower": 4}
    assert {p.name for p in folder.iterdir()} >= {"tokenizer.model", "tokenizer_config.json", "added_tokens.json"}
    assert {p.name: sha256_file(p) for p in ckpt.folder.iterdir()} == before  # source untouched


def test_phi3_facts_and_published_token_ids(phi3):
    ckpt, result, _, _ = phi3
    facts = read_facts(result.source, result.ggufs["f32"])
    assert (facts.bos_id, facts.prompt_has_bos, facts.eos_id) == (1, True, ckpt.token_ids["<|endoftext|>"])
    assert facts.image_token_id == ckpt.token_ids["<im_patch>"] == 411
    assert facts.n_vocab == 415 and facts.n_embd == 256 and facts.sp_legacy is False
    assert ckpt.token_ids["<|end|>"] in facts.eog_ids and facts.stop_ids == (facts.eos_id,)
    # the dummy-prefix pitfall: llama.cpp's tokenizer over the whole prompt text adds a lone "▁"
    vocab = LlamaVocab(result.ggufs["f32"])
    whole = vocab.tokenize("<im_patch>" + " " + QUESTION, parse_special=True)
    tok = hf_tokenizer(ckpt.folder)
    assert whole[1:] != tok("<im_patch>" + " " + QUESTION).input_ids[2:]


def test_phi3_logits_match_transformers(phi3):
    ckpt, result, _, _ = phi3
    tok = hf_tokenizer(ckpt.folder)
    facts, ours, image, reference = _parity(ckpt, result.source, result.ggufs["f32"], lambda t: tok(t).input_ids)
    err = relative_error(llama_logits(result.ggufs["f32"], ours, image), reference)
    assert err < TOLERANCE, err
    # llama.cpp's defaults (f16 KV cache, flash attention) as the app runs it
    assert relative_error(llama_logits(result.ggufs["f32"], ours, image, exact=False), reference) < 1e-2


@pytest.mark.parametrize("qtype, types, bound", [("q8_0", {"Q8_0"}, 0.1), ("q4_k_m", {"Q4_K", "Q6_K"}, 0.6)])
def test_quantized_ggufs_load_and_run(phi3, qtype, types, bound):
    ckpt, result, _, _ = phi3
    gguf = result.ggufs[qtype]
    matrices = {t for n, t in tensor_types(gguf).items() if not n.endswith("norm.weight")}
    assert matrices == types  # hidden 256, intermediate 512: no k-quant fallback needed
    tok = hf_tokenizer(ckpt.folder)
    _, ours, image, reference = _parity(ckpt, result.source, gguf, lambda t: tok(t).input_ids)
    logits = llama_logits(gguf, ours, image)
    assert np.isfinite(logits).all()
    assert relative_error(logits, reference) < bound
    assert np.corrcoef(logits, reference)[0, 1] > 0.9


def test_rerun_skips_finished_steps_and_redoes_changed_ones(phi3):
    ckpt, result, first, _ = phi3
    assert {e.step for e in first if e.state == "finished"} == {"llm_folder", "gguf", "quantize"}
    stamps = {p: p.stat().st_mtime_ns for p in result.ggufs.values()}
    events = []
    again = convert_llm(ckpt.folder, result.llm_folder.parent, ("q8_0", "q4_k_m"), base_type="f32",
                        keep_llm_folder=True, progress=events.append)
    assert [e.state for e in events] == ["skipped"] * 3 and again.sha256 == result.sha256
    assert {p: p.stat().st_mtime_ns for p in again.ggufs.values()} == stamps
    result.ggufs["q8_0"].write_bytes(b"GGUF damaged")  # a changed output is redone
    events.clear()
    convert_llm(ckpt.folder, result.llm_folder.parent, ("q8_0",), base_type="f32",
                keep_llm_folder=True, progress=events.append)
    assert [(e.step, e.state) for e in events if e.state != "running"] == [("gguf", "skipped"), ("quantize", "finished")]
    assert sha256_file(result.ggufs["q8_0"]) == result.sha256[result.ggufs["q8_0"]]


@pytest.mark.parametrize("family, legacy, add_bos", [("llama", False, True), ("llama", True, True), ("phi3", False, False)])
def test_variants_match_their_published_tokenizer(tmp_path, sp_model, family, legacy, add_bos):
    """Llama-2 with transformers' legacy and non-legacy SentencePiece handling, and a Phi-3
    tokenizer that adds no BOS (the splice then keeps the <im_patch> row at position 0 and
    drops the first question token)."""
    ckpt = m3d_lamed(tmp_path / "ckpt", sp_model, family, legacy=legacy, add_bos=add_bos)
    result = convert_llm(ckpt.folder, tmp_path / "work", (), base_type="f32")
    if legacy:  # what transformers 4.x did (the published model's tokenizer)
        tokenize = lambda t: legacy_slow_ids(ckpt.folder / "tokenizer.model", ckpt.token_ids, t, add_bos)  # noqa: E731
    else:
        tok = hf_tokenizer(ckpt.folder)
        tokenize = lambda t: tok(t).input_ids  # noqa: E731
    facts, ours, image, reference = _parity(ckpt, result.source, result.ggufs["f32"], tokenize)
    assert facts.sp_legacy is legacy and facts.prompt_has_bos is add_bos
    if not add_bos:
        assert ours.before == (facts.image_token_id,)
    assert relative_error(llama_logits(result.ggufs["f32"], ours, image), reference) < TOLERANCE
    assert result.llm_folder is None  # removed after use by default
