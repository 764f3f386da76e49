"""The pull's hooks for the viewer's Models dialog, against the loopback Hub: a progress
callback told each file's running bytes in place of the terminal's bar, and a stop switch
checked between chunks that leaves nothing installed and a download the next pull resumes."""

from __future__ import annotations

import threading

import pytest
from tiny_repos import GGUF_NAME, GGUF_REPO, PROJECTOR, TEXT_Q8

from inference.bundle import load_bundle
from inference.models.errors import PullError
from inference.models.pull import pull
from inference.models.store import installed

SPEC = f"{GGUF_REPO}:Q8_0"


def test_progress_is_told_each_files_bytes_up_to_its_size(models_dir, gguf_repo, hub_server, capsys):
    told: list[tuple[str, int, int | None]] = []
    pull(SPEC, accept=True, progress=lambda name, done, total: told.append((name, done, total)))
    for name in (TEXT_Q8, PROJECTOR):
        mine = [(done, total) for n, done, total in told if n == name]
        size = len(gguf_repo.files[name])
        assert mine[-1] == (size, size)  # ends at the whole file, as the Hub listed it
        assert [d for d, _ in mine] == sorted(d for d, _ in mine)  # never goes back
    assert "downloading" not in capsys.readouterr().err  # no terminal bar, no per-file log line
    load_bundle(GGUF_NAME, verify_llm=True)


def test_a_stop_between_chunks_installs_nothing_and_the_next_pull_resumes(models_dir, gguf_repo, hub_server):
    cancel = threading.Event()
    stopped_at: dict[str, int] = {}

    def stop_after_first_bytes(name: str, done: int, total: int | None) -> None:
        if done and not cancel.is_set():
            stopped_at[name] = done
            cancel.set()

    with pytest.raises(PullError, match="^the pull was stopped; run it again to resume$"):
        pull(SPEC, accept=True, progress=stop_after_first_bytes, cancel=cancel)
    assert installed() == []
    assert [p.name for p in models_dir.iterdir()] == [".downloads"]  # no half-made bundle
    (name, done), = stopped_at.items()
    kept = list((models_dir / ".downloads" / GGUF_REPO).glob(name + ".*.incomplete"))
    assert [p.stat().st_size for p in kept] == [done]  # what came stays, for the resume
    first_gets = len(hub_server.gets(name))

    pull(SPEC, accept=True, progress=lambda *told: None)
    gets = hub_server.gets(name)[first_gets:]
    if done < len(gguf_repo.files[name]):
        assert gets[0].range == f"bytes={done}-"  # resumed from the byte it reached
    else:
        assert gets == []  # it was whole: only renamed into place
    load_bundle(GGUF_NAME, verify_llm=True)


def test_a_stop_set_before_the_pull_downloads_nothing(models_dir, gguf_repo, hub_server):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(PullError, match="stopped"):
        pull(SPEC, accept=True, progress=lambda *told: None, cancel=cancel)
    assert not [s for s in hub_server.seen if "/resolve/" in s.path]
    assert installed() == []
