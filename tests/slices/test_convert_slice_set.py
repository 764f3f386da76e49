"""``ctchat convert`` for slice-set bundles: a Gemma 3 folder in MedGemma 1.5's published layout
(tiny random weights, fixture_gemma3.py) through llama.cpp's own converter and quantiser, a
published GGUF pair used as it is, and the bad inputs a user can give, each refused in one
sentence with no bundle left behind."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from convert import slice_set, steps
from convert.bundle_out import convert_checkpoint
from convert.command import register
from convert.errors import ConversionError
from convert.progress import GGUF, QUANTIZE
from convert.slice_set import convert_slice_set, is_slice_set_source
from inference.bundle import load_bundle
from inference.llm.gguf_header import read_gguf_header
from inference.slices.bundle import SliceSetBundle
from inference.slices.recipe import SliceRecipe

PAIR_TEXT, PAIR_PROJECTOR = "medgemma-tiny-Q8_0.gguf", "mmproj-medgemma-tiny-F16.gguf"
LLAMA_FTYPE = {"f32": 0, "f16": 1, "q8_0": 7, "q4_k_m": 15}


@pytest.fixture(scope="module")
def converted_q8(gemma3_folder, tmp_path_factory) -> Path:
    """The tiny folder converted once at q8_0 (the published pair below is made from it)."""
    return convert_slice_set(gemma3_folder, tmp_path_factory.mktemp("q8") / "medgemma-q8", "q8_0")


@pytest.fixture(scope="module")
def published_pair(converted_q8, tmp_path_factory) -> Path:
    """A folder as the GGUF pair is published: the model and its projector under their usual
    names, no model card."""
    folder = tmp_path_factory.mktemp("pair") / "medgemma-tiny-gguf"
    folder.mkdir()
    shutil.copy2(converted_q8 / "model.gguf", folder / PAIR_TEXT)
    shutil.copy2(converted_q8 / "mmproj.gguf", folder / PAIR_PROJECTOR)
    return folder


def _no_llama_cpp(monkeypatch) -> None:
    """Make any use of llama.cpp's converter or quantiser fail the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("llama.cpp was run where nothing needed converting")

    monkeypatch.setattr(slice_set, "hf_to_gguf", refuse)
    monkeypatch.setattr(slice_set, "quantize", refuse)


def _write_gguf(path: Path, arch: str, fields: dict[str, int]) -> Path:
    """A minimal valid GGUF (header fields and one small tensor) for headers-only checks."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    for key, value in fields.items():
        writer.add_uint32(key, value)
    writer.add_tensor("x", np.zeros((8,), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _check_medgemma_bundle(out: Path, quant: str, source_format: str) -> SliceSetBundle:
    bundle = load_bundle(out, verify_llm=True)
    assert isinstance(bundle, SliceSetBundle)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "slice_set" and manifest["files"] == {}  # the GGUFs are hashed in llm/projector
    assert manifest["llm"]["sha256"] == steps.sha256_file(out / "model.gguf")
    assert manifest["projector"]["sha256"] == steps.sha256_file(out / "mmproj.gguf")
    assert manifest["llm"]["type"] == quant and manifest["source"]["format"] == source_format
    assert read_gguf_header(out / "model.gguf").fields["general.file_type"] == LLAMA_FTYPE[quant]
    assert read_gguf_header(out / "mmproj.gguf").is_projector
    summary = bundle.summary()
    assert summary["input_recipe"] == SliceRecipe().to_dict()  # MedGemma 1.5's recipe
    assert "MedGemma 1.5" in summary["input_recipe_words"]["source"]
    assert summary["licence"].startswith("Health AI Developer Foundations terms of use")
    assert "not a medical device" in summary["notice"].lower()
    assert summary["tasks"] == ["choice", "open", "report", "yes_no"]
    assert bundle.scope.declared and "85 axial slices" in bundle.scope.input
    assert not out.with_name(out.name + ".work").exists() and not steps.partial_path(out).exists()
    return bundle


@pytest.mark.parametrize("quant", ["f32", "q4_k_m"])
def test_a_gemma3_folder_converts(gemma3_folder, tmp_path, quant):
    out = convert_checkpoint(gemma3_folder, tmp_path / "bundle", quant)  # dispatched by the 3D entry point
    bundle = _check_medgemma_bundle(out, quant, "safetensors")
    source = bundle.manifest["source"]
    assert source["folder_name"] == "medgemma-tiny" and bundle.manifest["name"] == "medgemma-tiny"
    assert source["files"]["model.safetensors"] == steps.sha256_file(gemma3_folder / "model.safetensors")
    assert {"config.json", "tokenizer.model", "tokenizer_config.json"} <= set(source["files"])


def test_the_q8_bundle_asks_each_task_in_words(converted_q8):
    from inference.question import Question

    bundle = _check_medgemma_bundle(converted_q8, "q8_0", "safetensors")
    prompt = bundle.prompt.task_prompt(Question.yes_no("pleural effusion"))
    assert prompt == "Is there pleural effusion in these CT slices? Answer yes or no."
    choice = bundle.prompt.task_prompt(Question("choice", "Which lung?", ("left", "right")))
    assert choice.startswith("Which lung? Choices: A. left B. right")


def test_a_published_pair_becomes_a_bundle_without_conversion(published_pair, converted_q8, tmp_path, monkeypatch):
    _no_llama_cpp(monkeypatch)
    assert is_slice_set_source(published_pair)
    out = convert_checkpoint(published_pair, tmp_path / "bundle")  # --quant's default: the pair is kept as is
    bundle = _check_medgemma_bundle(out, "q8_0", "gguf")
    assert (out / "model.gguf").read_bytes() == (converted_q8 / "model.gguf").read_bytes()
    assert bundle.manifest["source"]["files"] == {
        PAIR_TEXT: steps.sha256_file(published_pair / PAIR_TEXT),
        PAIR_PROJECTOR: steps.sha256_file(published_pair / PAIR_PROJECTOR)}
    assert "GGUF's metadata" in bundle.manifest["licence"]  # no model card beside a pair
    assert not (tmp_path / "bundle.work").exists()
    assert sorted(p.name for p in published_pair.iterdir()) == sorted([PAIR_TEXT, PAIR_PROJECTOR])  # untouched
    from inference.chat import open_session
    from inference.io import load_volume
    from inference.resources import DEMO_CT

    session = open_session(bundle, n_threads=2, slices=2)  # and it answers
    session.load_scan(load_volume(DEMO_CT))
    answer = session.ask("Is there a nodule in the right lung?", max_tokens=4)
    assert answer.n_tokens > 0 and len(session.sent_slices) == 2
    session.close()


def test_the_command_line_converts_a_pair_and_refuses_in_one_sentence(published_pair, tmp_path, monkeypatch, capsys):
    _no_llama_cpp(monkeypatch)
    parser = argparse.ArgumentParser(prog="ctchat")
    register(parser.add_subparsers())
    args = parser.parse_args(["convert", str(published_pair), "--out", str(tmp_path / "bundle")])
    assert args.func(args) == 0
    assert f"wrote {tmp_path / 'bundle'}" in capsys.readouterr().out
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy2(published_pair / PAIR_TEXT, lone / PAIR_TEXT)
    args = parser.parse_args(["convert", str(lone), "--out", str(tmp_path / "lone-bundle")])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ctchat convert: ") and "\n" not in err and "mmproj" in err


def _text_without_projector(pair: Path, folder: Path) -> None:
    shutil.copy2(pair / PAIR_TEXT, folder / PAIR_TEXT)


def _projector_of_another_model(pair: Path, folder: Path) -> None:
    shutil.copy2(pair / PAIR_TEXT, folder / PAIR_TEXT)
    _write_gguf(folder / "mmproj-other-F16.gguf", "clip", {"clip.vision.projection_dim": 32})


def _cut_short(pair: Path, folder: Path) -> None:
    data = (pair / PAIR_TEXT).read_bytes()
    (folder / PAIR_TEXT).write_bytes(data[: len(data) // 2])
    shutil.copy2(pair / PAIR_PROJECTOR, folder / PAIR_PROJECTOR)


def _neither(pair: Path, folder: Path) -> None:
    (folder / "README.md").write_text("# notes\n")


@pytest.mark.parametrize("make, message", [
    (_text_without_projector, f"holds a language model ({PAIR_TEXT}) but no vision projector (mmproj-*.gguf): "
                              "download the mmproj file published beside it"),
    (_projector_of_another_model, "mmproj-other-F16.gguf makes image tokens 32 wide but medgemma-tiny-Q8_0.gguf is "
                                  "64 wide: it is another model's projector"),
    (_cut_short, f"{PAIR_TEXT} is cut short (an unfinished download?)"),
    (_neither, "is neither a Gemma 3 model folder"),
])
def test_bad_sources_are_refused_in_one_sentence(published_pair, tmp_path, monkeypatch, make, message):
    _no_llama_cpp(monkeypatch)
    folder = tmp_path / "source"
    folder.mkdir()
    make(published_pair, folder)
    out = tmp_path / "bundle"
    with pytest.raises(ConversionError) as info:
        convert_slice_set(folder, out)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not out.exists() and not steps.partial_path(out).exists()


def test_a_rerun_skips_the_finished_steps(gemma3_folder, tmp_path, monkeypatch):
    out = tmp_path / "bundle"

    def interrupted(*args, **kwargs):
        raise ConversionError("interrupted")

    monkeypatch.setattr(slice_set, "quantize", interrupted)
    with pytest.raises(ConversionError, match="interrupted"):
        convert_slice_set(gemma3_folder, out, "q8_0")
    assert not out.exists()  # no manifest, no bundle: only the work folder
    assert steps.marker_path(tmp_path / "bundle.work" / "text-f16.gguf").is_file()
    monkeypatch.undo()
    monkeypatch.setattr(slice_set, "hf_to_gguf", interrupted)  # its two outputs must be reused
    events = []
    convert_slice_set(gemma3_folder, out, "q8_0", progress=events.append)
    states = [(e.step, e.state) for e in events if e.state != "running"]
    assert states.count((GGUF, "skipped")) == 2 and (QUANTIZE, "finished") in states
    assert ("source_hashes", "skipped") in states
    _check_medgemma_bundle(out, "q8_0", "safetensors")


def test_another_vision_family_gets_a_declared_default_recipe(tmp_path, monkeypatch):
    _no_llama_cpp(monkeypatch)
    folder = tmp_path / "Qwen2-VL-tiny-GGUF"
    folder.mkdir()
    _write_gguf(folder / "qwen2-vl-tiny-Q8_0.gguf", "qwen2vl", {"qwen2vl.embedding_length": 32, "general.file_type": 7})
    _write_gguf(folder / "mmproj-qwen2-vl-tiny-f16.gguf", "clip", {
        "clip.vision.projection_dim": 32, "clip.vision.image_size": 448, "clip.vision.patch_size": 14,
        "general.file_type": 1})
    bundle = load_bundle(convert_slice_set(folder, tmp_path / "bundle"), verify_llm=True)
    recipe = bundle.slice_recipe
    assert recipe.windows == ((-160.0, 240.0),) * 3 and recipe.max_slices == 32
    assert recipe.tokens_per_image == (448 // 14) ** 2 // 4 and "ctchat's default" in recipe.source
    assert "ctchat's default, not the model authors'" in bundle.manifest["notice"]
    assert not bundle.scope.declared  # nothing known of its CT training
    assert bundle.slice_prompt.image_marker == "<|vision_start|><|image_pad|><|vision_end|>"
    assert bundle.manifest["llm"]["type"] == "q8_0" and bundle.manifest["name"] == "qwen2-vl-tiny-gguf"
    assert bundle.manifest["licence"].startswith("not stated in the source folder")


def test_folders_for_the_3d_converter_are_not_taken(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LamedPhi3ForCausalLM"]}))
    assert not is_slice_set_source(tmp_path)
    assert not is_slice_set_source(tmp_path / "absent")
