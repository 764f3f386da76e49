"""``ctchat pull`` against the loopback Hub: a safetensors repository converted, registered and
asked; a GGUF pair picked by its quantisation; a download cut midway and resumed; a damaged
file, a gated repository, a full disk, an unknown name and a run without a terminal, each
refused in one sentence with nothing registered; and a local folder pulled without a connection."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from collections import namedtuple
from pathlib import Path

import pytest
from hub_server import FakeRepo
from tiny_repos import (GGUF_NAME, GGUF_REPO, PROJECTOR, SAFETENSORS_NAME, SAFETENSORS_REPO, TEXT_F32, TEXT_Q8,
                        folder_files)

from inference.bundle import load_bundle
from inference.cli import main
from inference.models import hub as hub_module
from inference.models import pull as pull_module
from inference.models.store import installed
from inference.resources import DEMO_CT

PULL_Q8 = ["pull", f"{GGUF_REPO}:Q8_0", "--accept"]


def one_sentence(capsys) -> str:
    """The refusal: one ``ctchat pull:`` line on stderr (besides any progress lines), no traceback."""
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if line.startswith("ctchat")]
    assert "Traceback" not in err and len(said) == 1, err
    return said[0]


def plenty_of_disk(monkeypatch) -> None:
    """A catalogued model's disk check counts its real bundle size (gigabytes): not this machine's."""
    monkeypatch.setattr(pull_module, "free_bytes", lambda folder: 10**13)


def nothing_registered(models: Path) -> None:
    assert installed() == []
    if models.is_dir():  # no half-made bundle left beside the downloads
        assert [p.name for p in models.iterdir() if p.name != ".downloads"] == []


def test_a_safetensors_repo_is_converted_registered_and_answers(pulled_safetensors, hub_server, monkeypatch,
                                                                tmp_path, capsys):
    repo = hub_server.repos[SAFETENSORS_REPO]
    bundle = pulled_safetensors / SAFETENSORS_NAME
    # only the bundle is left: the downloads and the working folders are gone
    assert sorted(p.name for p in pulled_safetensors.iterdir()) == [SAFETENSORS_NAME]
    source = json.loads((bundle / "manifest.json").read_text())["source"]
    assert (source["repo"], source["revision"], source["commit"]) == (SAFETENSORS_REPO, "main", repo.commit)
    assert source["hub"] == hub_server.url and source["format"] == "safetensors"
    assert source["files"] == {name: hashlib.sha256(data).hexdigest() for name, data in repo.files.items()}

    monkeypatch.setenv("CTCHAT_MODELS_DIR", str(pulled_safetensors))
    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path / "data"))
    assert load_bundle(SAFETENSORS_NAME, verify_llm=True).root == bundle  # found by its name
    capsys.readouterr()
    assert main(["ask", str(DEMO_CT), "Is there a nodule in the right lung?", "--bundle", SAFETENSORS_NAME,
                 "--max-tokens", "2", "--device", "cpu", "--no-scan-cache", "--slices", "2"]) == 0
    assert f"; {SAFETENSORS_NAME} 1]" in capsys.readouterr().err  # the answer's closing line names it


def test_a_gguf_pair_is_picked_by_its_quantisation(models_dir, gguf_repo, hub_server, capsys):
    assert main(PULL_Q8) == 0
    out = capsys.readouterr().out
    assert "download: " in out and "disk needed: " in out and "licence: " in out
    bundle = load_bundle(GGUF_NAME, verify_llm=True)
    manifest = bundle.manifest
    assert manifest["llm"]["type"] == "q8_0" and manifest["source"]["format"] == "gguf"
    assert set(manifest["source"]["files"]) == {TEXT_Q8, PROJECTOR, "README.md"}
    assert manifest["licence"].startswith("Health AI Developer Foundations terms of use")  # from the card
    assert hub_server.gets(TEXT_F32) == []  # the other quantisation is never fetched
    assert sorted(p.name for p in models_dir.iterdir()) == [GGUF_NAME]


def test_a_download_cut_midway_resumes_in_the_next_run(models_dir, gguf_repo, hub_server, capsys):
    size = len(gguf_repo.files[PROJECTOR])
    hub_server.drop_after[PROJECTOR] = [4096]  # the connection closes after 4096 bytes ...
    hub_server.fail_with[PROJECTOR] = [503] * hub_module.RETRIES  # ... and the server then fails each retry
    assert main(PULL_Q8) == 1
    err = one_sentence(capsys)
    assert f"broke off at 4096 of {size} bytes" in err and "run the command again to resume" in err
    nothing_registered(models_dir)
    (partial,) = (models_dir / ".downloads" / GGUF_REPO).glob(PROJECTOR + ".*.incomplete")
    assert partial.stat().st_size == 4096

    assert main(PULL_Q8) == 0
    assert hub_server.gets(PROJECTOR)[-1].range == "bytes=4096-"  # resumed, not restarted
    assert len(hub_server.gets(TEXT_Q8)) == 1  # a finished file is not fetched again
    load_bundle(GGUF_NAME, verify_llm=True)


def test_a_dropped_connection_is_resumed_in_the_same_run(models_dir, gguf_repo, hub_server):
    hub_server.drop_after[PROJECTOR] = [1000]
    assert main(PULL_Q8) == 0
    assert [g.range for g in hub_server.gets(PROJECTOR)] == [None, "bytes=1000-"]


def test_a_file_that_does_not_match_its_checksum_is_refused_and_deleted(models_dir, gguf_repo, hub_server, capsys):
    hub_server.add(FakeRepo("tester/damaged-GGUF", dict(gguf_repo.files), listed_sha256={PROJECTOR: "0" * 64}))
    assert main(["pull", "tester/damaged-GGUF:Q8_0", "--accept"]) == 1
    assert one_sentence(capsys) == (f"ctchat pull: {PROJECTOR} does not match the SHA-256 the Hub lists: the "
                                    "download is damaged (it was deleted); run the command again")
    assert not (models_dir / ".downloads" / "tester" / "damaged-GGUF" / PROJECTOR).exists()
    nothing_registered(models_dir)


GATED = "tester/gated-GGUF"


def test_a_gated_repo_without_a_token_is_refused_before_downloading(models_dir, gguf_repo, hub_server, capsys):
    hub_server.add(FakeRepo(GATED, dict(gguf_repo.files), gated=True))
    assert main(["pull", f"{GATED}:Q8_0", "--accept"]) == 1
    assert one_sentence(capsys) == (f"ctchat pull: {GATED} is gated: accept its terms on the Hub and set HF_TOKEN "
                                    "or run `hf auth login`")
    assert not [s for s in hub_server.seen if "/resolve/" in s.path]
    nothing_registered(models_dir)


def test_a_token_the_hub_refuses_for_a_gated_repo_is_the_same_sentence(models_dir, gguf_repo, hub_server,
                                                                       monkeypatch, capsys):
    hub_server.add(FakeRepo(GATED, dict(gguf_repo.files), gated=True))
    monkeypatch.setenv("HF_TOKEN", "hf_not_the_right_one")  # terms not accepted: the Hub answers GatedRepo
    assert main(["pull", f"{GATED}:Q8_0", "--accept"]) == 1
    assert one_sentence(capsys).endswith(f"{GATED} is gated: accept its terms on the Hub and set HF_TOKEN or run "
                                         "`hf auth login`")
    nothing_registered(models_dir)


def test_a_gated_repo_with_a_token_is_pulled_and_the_token_is_written_nowhere(models_dir, gguf_repo, hub_server,
                                                                              monkeypatch, capsys):
    hub_server.add(FakeRepo(GATED, dict(gguf_repo.files), gated=True))
    monkeypatch.setenv("HF_TOKEN", hub_server.token)
    assert main(["pull", f"{GATED}:Q8_0", "--accept"]) == 0
    said = capsys.readouterr()
    assert all(s.authorized for s in hub_server.seen if "/resolve/" in s.path)
    token = hub_server.token.encode()
    assert token not in (said.out + said.err).encode()
    assert not [p for p in models_dir.rglob("*") if p.is_file() and token in p.read_bytes()]


def test_a_full_disk_is_refused_before_downloading(models_dir, gguf_repo, hub_server, monkeypatch, capsys):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(pull_module.shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 10**7, 10**7))
    assert main(PULL_Q8) == 1
    err = one_sentence(capsys)
    assert "free and the disk of" in err and "has 10.0 MB" in err and "CTCHAT_MODELS_DIR" in err
    assert not [s for s in hub_server.seen if "/resolve/" in s.path]
    nothing_registered(models_dir)


@pytest.mark.parametrize("spec, says", [
    ("no-such-model", "'no-such-model' is not a model ctchat knows: `ctchat pull --list` shows the catalogue"),
    ("tester/not-there", "tester/not-there is not on 127.0.0.1, or it is private"),
    ("tester/medgemma-tiny-GGUF", "holds several language models"),
    ("tester/medgemma-tiny-GGUF:Q5_K_M", "has no GGUF whose name carries Q5_K_M"),
])
def test_a_name_that_cannot_be_pulled_is_one_sentence(models_dir, gguf_repo, spec, says, capsys):
    assert main(["pull", spec, "--accept"]) == 1
    assert says in one_sentence(capsys)
    nothing_registered(models_dir)


def test_without_a_terminal_pull_asks_for_accept(models_dir, gguf_repo, hub_server, capsys):
    assert main(PULL_Q8[:-1]) == 1  # pytest's stdin is no terminal
    assert "there is no terminal to ask on: pass --accept" in one_sentence(capsys)
    assert not [s for s in hub_server.seen if "/resolve/" in s.path]


def test_on_a_terminal_pull_asks_and_a_no_downloads_nothing(models_dir, gguf_repo, hub_server, monkeypatch, capsys):
    asked = []
    monkeypatch.setattr(pull_module, "is_interactive", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "n")
    assert main(PULL_Q8[:-1]) == 1
    assert asked and "[y/N]" in asked[0]
    assert "nothing was downloaded" in one_sentence(capsys)
    assert not [s for s in hub_server.seen if "/resolve/" in s.path]


@pytest.fixture
def no_connections(monkeypatch) -> list:
    """Every socket connection attempt is recorded and refused."""
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise ConnectionRefusedError("connections are blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_a_local_folder_is_pulled_without_any_connection(models_dir, gguf_repo, tmp_path, no_connections):
    folder = tmp_path / "usb" / "medgemma-tiny-GGUF"
    folder.mkdir(parents=True)
    for name in (TEXT_Q8, TEXT_F32, PROJECTOR, "README.md"):
        (folder / name).write_bytes(gguf_repo.files[name])
    assert main([*PULL_Q8, "--from", str(folder)]) == 0
    assert no_connections == []
    source = load_bundle(GGUF_NAME, verify_llm=True).manifest["source"]
    assert source["from_folder"] == str(folder) and source["commit"] is None and "hub" not in source
    assert source["files"][PROJECTOR] == hashlib.sha256(gguf_repo.files[PROJECTOR]).hexdigest()
    assert sorted(p.name for p in folder.iterdir()) == sorted([TEXT_Q8, TEXT_F32, PROJECTOR, "README.md"])


def test_a_catalogued_model_is_pulled_from_its_local_copy(models_dir, gemma3_source, tmp_path, no_connections,
                                                          monkeypatch):
    plenty_of_disk(monkeypatch)
    copy = tmp_path / "usb" / "medgemma-1.5-4b-it"
    shutil.copytree(gemma3_source, copy)
    assert main(["pull", "medgemma-1.5-4b", "--from", str(copy), "--quant", "q8_0", "--accept"]) == 0
    assert no_connections == []
    bundle = load_bundle("medgemma-1.5-4b", verify_llm=True)
    source = bundle.manifest["source"]
    assert source["repo"] == "google/medgemma-1.5-4b-it" and source["catalogue"] == "medgemma-1.5-4b"
    assert source["files"] == {n: hashlib.sha256(d).hexdigest() for n, d in folder_files(gemma3_source).items()}
    assert "trained_scope" in bundle.manifest  # recognised as MedGemma: its scope is declared


def test_ctrl_c_while_converting_registers_nothing_and_keeps_the_downloads(models_dir, gguf_repo, monkeypatch,
                                                                           capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pull_module, "run_converter", interrupted)
    assert main(PULL_Q8) == 130
    assert "run the same command to resume" in capsys.readouterr().err
    nothing_registered(models_dir)
    assert sorted(p.name for p in (models_dir / ".downloads" / GGUF_REPO).iterdir() if not p.name.startswith(".")) \
        == sorted([PROJECTOR, TEXT_Q8, "README.md"])


def test_a_model_pulled_with_other_repositories_gets_each_as_its_converter_option(
        models_dir, hub_server, pulled_safetensors, monkeypatch):
    """Med-2E3: M3D-CLIP's tokenizer as --text-encoder, Phi-3-mini-128k's as --tokenizer; only the
    files the catalogue names are fetched (not M3D-CLIP's or Phi-3's weights). The converter is
    replaced by one that records what it was given (the real one has its own tests)."""
    hub_server.add(FakeRepo("shiym2000/Med-2E3-M3D", {"llm/config.json": b"{}", "llm/pytorch_model.bin": b"w" * 9,
                                                     "vision3d_model/pytorch_model.bin": b"v" * 9, "README.md": b"#"}))
    clip = hub_server.add(FakeRepo("GoodBaiBai88/M3D-CLIP", {"vocab.txt": b"[PAD]\n", "tokenizer_config.json": b"{}",
                                                            "pytorch_model.bin": b"clip weights"}))
    phi3 = hub_server.add(FakeRepo("microsoft/Phi-3-mini-128k-instruct", {
        "tokenizer.model": b"spm", "tokenizer_config.json": b"{}", "model-00001-of-00002.safetensors": b"phi"}))
    given = {}

    def converter(source, out, quant, tokenizer=None, text_encoder=None, label=""):
        given.update(source=sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()),
                     tokenizer=sorted(p.name for p in tokenizer.iterdir()),
                     text_encoder=sorted(p.name for p in text_encoder.iterdir()), quant=quant)
        shutil.copytree(pulled_safetensors / SAFETENSORS_NAME, out)

    monkeypatch.setattr(pull_module, "run_converter", converter)
    plenty_of_disk(monkeypatch)
    assert main(["pull", "med2e3-m3d", "--accept"]) == 0
    assert given == {"source": ["README.md", "llm/config.json", "llm/pytorch_model.bin",
                                "vision3d_model/pytorch_model.bin"],
                     "tokenizer": ["tokenizer.model", "tokenizer_config.json"],
                     "text_encoder": ["tokenizer_config.json", "vocab.txt"], "quant": "q4_k_m"}
    assert not [s for s in hub_server.seen if s.path.startswith("/GoodBaiBai88/") and s.path.endswith(".bin")]
    assert not hub_server.gets("model-00001-of-00002.safetensors")
    source = load_bundle("med2e3-m3d").manifest["source"]
    assert [(x["role"], x["repo"], x["commit"]) for x in source["extra_repos"]] == [
        ("text_encoder", clip.repo, clip.commit), ("tokenizer", phi3.repo, phi3.commit)]
