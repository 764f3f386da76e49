"""The catalogue (``resources/catalogue.json``) and how a pull chooses files: every figure marked
measured or estimate and printed so, each name and repository resolvable, the GGUF picked by
its quantisation as a whole word."""

from __future__ import annotations

import pytest

from inference.cli import main
from inference.models.catalogue import ESTIMATE, FIGURES, MEASURED, find_entry, load_catalogue
from inference.models.checksums import Expected
from inference.models.errors import PullError
from inference.models.hub import RepoFile
from inference.models.plan import parse_target
from inference.models.selection import default_name, quant_in_name, select, select_gguf
from inference.models.store import NAME_PATTERN

NAMES = ["medgemma-1.5-4b", "m3d-lamed-phi3-4b", "m3d-lamed-llama2-7b", "med3dvlm-qwen2.5-7b", "med2e3-m3d"]


def test_the_catalogue_holds_the_published_models_with_every_figure_marked():
    entries = load_catalogue()
    assert [e.name for e in entries] == NAMES
    assert len({e.repo for e in entries}) == len(entries)
    for e in entries:
        assert NAME_PATTERN.match(e.name) and "/" in e.repo and e.revision == "main" and e.files
        assert e.licence and e.terms_url.startswith("https://") and e.trained_for
        assert e.kind in ("slice_set", "volume_3d") and e.quant == "q4_k_m"
        for figure in FIGURES:
            if getattr(e, figure) is not None:
                assert e.figures[figure] in (MEASURED, ESTIMATE), (e.name, figure)
    medgemma = find_entry("medgemma-1.5-4b")
    assert medgemma.gated and medgemma.kind == "slice_set" and medgemma.repo == "google/medgemma-1.5-4b-it"
    assert medgemma.is_estimate("download_bytes") and not medgemma.is_estimate("bundle_bytes")
    phi3 = find_entry("GoodBaiBai88/M3D-LaMed-Phi-3-4B")  # found by its repository too
    assert phi3.download_bytes == 16_200_000_000 and not phi3.is_estimate("memory_gib")
    assert not phi3.is_estimate("speed_cpu") and "18 s" in phi3.speed_cpu
    med2e3 = find_entry("med2e3-m3d")
    assert {x.repo: x.role for x in med2e3.extra_repos} == {"GoodBaiBai88/M3D-CLIP": "text_encoder",
                                                            "microsoft/Phi-3-mini-128k-instruct": "tokenizer"}


def test_pull_list_marks_estimates_with_a_star(capsys):
    assert main(["pull", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(NAMES) + 1 and lines[-1].startswith("* an estimate")
    phi3 = next(line for line in lines if line.startswith("m3d-lamed-phi3-4b "))
    assert "download 16.2 GB," in phi3 and "bundle ~2.8 GB*" in phi3 and "memory 7.0 GiB," in phi3
    medgemma = next(line for line in lines if line.startswith("medgemma-1.5-4b "))
    assert "download ~8.6 GB*, bundle 3.3 GB," in medgemma and "memory 5.9 GiB*" in medgemma
    assert "gated" in medgemma and "Health AI Developer Foundations" in medgemma


def test_targets_resolve_to_an_entry_or_a_repository():
    assert parse_target("m3d-lamed-phi3-4b")[0].name == "m3d-lamed-phi3-4b"
    assert parse_target("GoodBaiBai88/M3D-LaMed-Phi-3-4B")[0].name == "m3d-lamed-phi3-4b"
    assert parse_target("ggml-org/medgemma-4b-it-GGUF:Q4_K_M") == (None, "ggml-org/medgemma-4b-it-GGUF", "Q4_K_M")
    with pytest.raises(PullError, match="is not a model ctchat knows"):
        parse_target("../etc/passwd")


def _files(*names: str) -> list[RepoFile]:
    return [RepoFile(n, Expected(1)) for n in names]


@pytest.mark.parametrize("name, quant, carries", [
    ("model-Q4_K_M.gguf", "Q4_K_M", True), ("model-q4_k_m.gguf", "Q4_K_M", True),
    ("model_Q8_0.gguf", "Q8_0", True), ("model-Q4_K_M.gguf", "Q4_K", False),
    ("model-Q4_K_S.gguf", "Q4_K_M", False), ("mmproj-model-f16.gguf", "f16", True),
    ("mmproj-model-bf16.gguf", "f16", False),
])
def test_a_quantisation_is_matched_as_a_whole_word(name, quant, carries):
    assert quant_in_name(name, quant) is carries


def test_a_gguf_pair_is_the_text_model_asked_for_its_f16_projector_and_the_card():
    files = _files("README.md", "model-Q4_K_M.gguf", "model-Q8_0.gguf", "mmproj-model-bf16.gguf",
                   "mmproj-model-f16.gguf", "params")
    chosen = [f.name for f in select_gguf("o/r", files, "Q8_0")]
    assert chosen == ["model-Q8_0.gguf", "mmproj-model-f16.gguf", "README.md"]
    with pytest.raises(PullError, match="several language models .*o/r:Q4_K_M"):
        select_gguf("o/r", files, None)
    with pytest.raises(PullError, match="no vision projector"):
        select_gguf("o/r", _files("model-Q8_0.gguf"), "Q8_0")


def test_catalogue_patterns_take_nested_files_but_not_the_duplicate_weights():
    phi3 = find_entry("m3d-lamed-phi3-4b")
    files = _files("config.json", "model-00001-of-00004.safetensors", "model.bin", "tokenizer.model",
                   "llm/config.json", "LaMed/src/train.py")
    assert [f.name for f in select(files, phi3.files)] == ["config.json", "model-00001-of-00004.safetensors",
                                                           "tokenizer.model", "llm/config.json"]


def test_an_uncatalogued_repository_is_installed_under_its_own_name():
    assert default_name("ggml-org/medgemma-4b-it-GGUF", "Q4_K_M") == "medgemma-4b-it-gguf-q4_k_m"
    assert default_name("tester/Some Model", None) == "some-model"
