"""Med3DVLM: Qwen2 with the real 151,666-row vocabulary (llama.cpp must recognise Qwen's
pre-tokenizer), no BOS, the first question token dropped by the positional splice."""

from __future__ import annotations

import pytest

from convert.llm_gguf import convert_llm
from convert.llm_prompt import gguf_metadata, read_facts
from convert.steps import sha256_file
from fixture_layouts import med3dvlm
from inference.llm.vocab import LlamaVocab
from parity import (hf_tokenizer, image_vectors, llama_logits, published_ids, reference_logits,
                    relative_error)
from published_layout import prompt_layout

QUESTIONS = ("What is the abnormality in this image?", "Is there a 3.5 cm mass in the left kidney?")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("med3dvlm")
    ckpt = med3dvlm(root / "Med3DVLM-Qwen-2.5-7B")
    vision = sha256_file(ckpt.folder / "vision_tower.bin")
    result = convert_llm(ckpt.folder, root / "work", ("q8_0",), base_type="f32")
    assert sha256_file(ckpt.folder / "vision_tower.bin") == vision
    return ckpt, result


def test_gguf_vocabulary(converted):
    ckpt, result = converted
    assert gguf_metadata(LlamaVocab(result.ggufs["f32"]), "tokenizer.ggml.pre") == "qwen2"
    facts = read_facts(result.source, result.ggufs["f32"])
    assert facts.n_vocab == 151666 and facts.image_token_id == 151665 == ckpt.token_ids["<im_patch>"]
    assert facts.prompt_has_bos is False and facts.sp_legacy is None
    assert facts.eos_id == ckpt.token_ids["<|im_end|>"] and facts.eos_id in facts.eog_ids


@pytest.mark.parametrize("question", QUESTIONS)
def test_prompt_ids_and_logits_match_transformers(converted, question):
    ckpt, result = converted
    gguf = result.ggufs["f32"]
    facts = read_facts(result.source, gguf)
    vocab = LlamaVocab(gguf)
    ours = prompt_layout(facts, question, vocab.tokenize)
    tok = hf_tokenizer(ckpt.folder)
    before, after = published_ids("med3dvlm", lambda t: tok(t).input_ids, question)
    assert (list(ours.before), list(ours.after)) == (before, after)
    assert ours.before == (facts.image_token_id,)
    assert list(ours.after) == vocab.tokenize(" " + question)[1:]  # the first word is lost
    image = image_vectors(256, facts.n_embd)
    reference = reference_logits(ckpt.reference_model(), before, image, after)
    assert relative_error(llama_logits(gguf, ours, image), reference) < 1e-3
    assert relative_error(llama_logits(result.ggufs["q8_0"], ours, image), reference) < 0.1
