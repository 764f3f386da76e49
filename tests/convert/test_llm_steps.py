"""The converter's plumbing: step markers, the sdist lookup, and the errors a user can reach."""

from __future__ import annotations

import json

import pytest

from convert import steps
from convert.errors import ConversionError
from convert.llama_cpp_sources import converter_dir, sdist_path
from convert.llm_folder import is_llm_tensor
from convert.llm_gguf import convert_llm
from convert.llm_layouts import find_llm
from fixture_layouts import m3d_lamed


def test_marker_records_inputs_and_detects_changed_outputs(tmp_path):
    out = tmp_path / "out.bin"
    tmp = steps.start(out)
    tmp.write_bytes(b"abc")
    record = steps.commit(tmp, out, "demo", {"x": 1})
    assert record["output"]["out.bin"]["sha256"] == steps.sha256_file(out)
    assert steps.finished(out, {"x": 1}) is not None
    assert steps.finished(out, {"x": 2}) is None  # other inputs
    out.write_bytes(b"abcd")
    assert steps.finished(out, {"x": 1}) is None  # changed since
    steps.start(out)
    assert not out.exists() and not steps.marker_path(out).exists()


def test_folder_outputs_are_checked_file_by_file(tmp_path):
    out = tmp_path / "folder"
    tmp = steps.start(out)
    tmp.mkdir()
    (tmp / "a.txt").write_text("a")
    steps.commit(tmp, out, "demo", {})
    assert steps.finished(out, {}) is not None
    (out / "b.txt").write_text("b")  # an extra file: not what the step wrote
    assert steps.finished(out, {}) is None


@pytest.mark.parametrize("name, llm", [
    ("model.layers.3.self_attn.qkv_proj.weight", True), ("lm_head.weight", True),
    ("model.embed_tokens.weight", True), ("model.norm.weight", True),
    ("model.vision_tower.vision_tower.blocks.0.attn.qkv.weight", False),
    ("model.mm_projector.projector.0.weight", False), ("model.seg_module.mask_decoder.x", False),
    ("model.seg_projector.0.weight", False), ("model.layers.0.self_attn.rotary_emb.inv_freq", False),
])
def test_llm_tensors_are_told_apart(name, llm):
    assert is_llm_tensor(name) is llm


def test_missing_sdist_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("CTCHAT_WHEEL_CACHE", str(tmp_path / "wheels"))
    with pytest.raises(ConversionError) as info:
        converter_dir()
    message = str(info.value)
    assert str(sdist_path().parent) in message and "scripts/install.sh" in message
    assert "pip download --no-binary :all: --no-deps llama-cpp-python==" in message
    assert "\n" not in message


def test_unknown_folders_are_refused_in_one_sentence(tmp_path):
    with pytest.raises(ConversionError, match="is not a folder"):
        find_llm(tmp_path / "absent")
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    with pytest.raises(ConversionError, match="not one of the published models"):
        find_llm(tmp_path)


def test_incomplete_checkpoints_are_refused(tmp_path, sp_model):
    ckpt = m3d_lamed(tmp_path / "ckpt", sp_model, "llama")
    index = json.loads((ckpt.folder / "model.safetensors.index.json").read_text())
    (ckpt.folder / sorted(set(index["weight_map"].values()))[-1]).unlink()
    with pytest.raises(ConversionError, match="is incomplete: model.safetensors.index.json lists"):
        convert_llm(ckpt.folder, tmp_path / "work", ())
    (ckpt.folder / "model.safetensors.index.json").unlink()
    with pytest.raises(ConversionError, match="has no model weights"):
        convert_llm(ckpt.folder, tmp_path / "work", ())


def test_unknown_quantisation_is_refused(tmp_path, sp_model):
    ckpt = m3d_lamed(tmp_path / "ckpt", sp_model, "llama")
    with pytest.raises(ConversionError, match="unknown quantisation q3_k: choose among f16, q8_0, q4_k_m"):
        convert_llm(ckpt.folder, tmp_path / "work", ("q3_k",))


def test_missing_llm_layers_are_named(tmp_path, sp_model):
    ckpt = m3d_lamed(tmp_path / "ckpt", sp_model, "llama")
    config = json.loads((ckpt.folder / "config.json").read_text())
    config["num_hidden_layers"] = 3
    (ckpt.folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConversionError, match=r"lacks LLM tensors \(layers \[2\]\)"):
        convert_llm(ckpt.folder, tmp_path / "work", ())
    assert not (tmp_path / "work" / "llm-hf.partial").exists()  # nothing half-written is left


def test_a_failing_llama_cpp_converter_is_reported_with_its_log(tmp_path, sp_model):
    ckpt = m3d_lamed(tmp_path / "ckpt", sp_model, "llama")
    (ckpt.folder / "tokenizer.model").write_bytes(b"not a sentencepiece model")
    with pytest.raises(ConversionError) as info:
        convert_llm(ckpt.folder, tmp_path / "work", ())
    message = str(info.value)
    assert message.startswith(f"llama.cpp's converter could not convert {tmp_path / 'work' / 'llm-hf'}: ")
    assert "could not parse ModelProto" in message
    log = tmp_path / "work" / "llm-f16.gguf.log"
    assert f"(full log: {log})" in message and log.is_file()
    assert not (tmp_path / "work" / "llm-f16.gguf.partial").exists()
    assert "Error" not in message.split("(full log")[0]  # no exception type names
