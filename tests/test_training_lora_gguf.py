"""Our LoRA GGUF writer: llama.cpp loads the adapter and applies it as LoRA should act."""

from __future__ import annotations

import numpy as np
import pytest

from inference.llm import LlamaRuntime, LLMError
from inference.llm.model_files import default_gguf_path
from training.export.lora_gguf import gguf_tensor_name, peft_to_gguf, write_lora_gguf

HIDDEN, Q_OUT, RANK = 640, 1024, 4  # Gemma 3 270M: blk.N.attn_q is (1024, 640) in numpy terms


@pytest.fixture(scope="module")
def gguf():
    return default_gguf_path()


@pytest.fixture(scope="module")
def base(gguf, next_token_logits):
    return next_token_logits(gguf)


def pair(seed, b_factor=1.0):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.05, (RANK, HIDDEN)).astype(np.float32)
    b = rng.normal(0, 0.05, (Q_OUT, RANK)).astype(np.float32) * b_factor
    return a, b


def test_peft_names_map_to_llama_cpp_tensors():
    assert gguf_tensor_name("base_model.model.model.layers.17.mlp.down_proj.lora_B.weight") == ("blk.17.ffn_down.weight", "b")
    state = {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": np.zeros((4, 640)),
             "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": np.zeros((1024, 4))}
    assert list(peft_to_gguf(state)) == ["blk.0.attn_q.weight"]
    with pytest.raises(ValueError, match="without their pair"):
        peft_to_gguf({"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": np.zeros((4, 640))})


def test_zero_b_adapter_leaves_the_model_unchanged(gguf, base, tmp_path, next_token_logits):
    a, b = pair(0, b_factor=0.0)
    path = write_lora_gguf(tmp_path / "zero.gguf", {"blk.0.attn_q.weight": (a, b)}, alpha=8, arch="gemma3")
    assert np.array_equal(next_token_logits(gguf, path), base)


def test_adapter_acts_linearly_as_lora(gguf, base, tmp_path, next_token_logits):
    q_a, q_b = pair(1)
    up_a = pair(2)[0]
    up_b = np.random.default_rng(3).normal(0, 0.05, (2048, RANK)).astype(np.float32)  # ffn_up: (2048, 640)
    one = write_lora_gguf(tmp_path / "one.gguf",
                          {"blk.0.attn_q.weight": (q_a, q_b), "blk.3.ffn_up.weight": (up_a, up_b)}, alpha=8, arch="gemma3")
    two = write_lora_gguf(tmp_path / "two.gguf",
                          {"blk.0.attn_q.weight": (q_a, 2 * q_b), "blk.3.ffn_up.weight": (up_a, 2 * up_b)}, alpha=8, arch="gemma3")
    full = next_token_logits(gguf, one, 1.0)
    assert np.abs(full - base).max() > 1e-2, "the adapter changes the model"
    np.testing.assert_allclose(next_token_logits(gguf, two, 0.5), full, atol=2e-3)  # scale x B is what counts


def test_wrong_base_tensor_is_refused(gguf, tmp_path):
    a, b = pair(0)
    path = write_lora_gguf(tmp_path / "bad.gguf", {"blk.0.attn_q.weight": (a[:, :600], b)}, alpha=8, arch="gemma3")
    with pytest.raises(LLMError, match="could not load this LoRA adapter"):
        LlamaRuntime(gguf, n_ctx=128, lora_path=path)
