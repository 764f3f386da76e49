"""Fixtures of the slice-set tests: the tiny random Gemma 3 folder in MedGemma 1.5's layout,
written once per session (fixture_gemma3.py; tests/slices is on sys.path as pytest's rootdir-less
test folder, as tests/convert is)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def gemma3_folder(tmp_path_factory) -> Path:
    """A read-only-by-convention ``medgemma-tiny`` folder (config, safetensors, tokenizer, card)."""
    pytest.importorskip("torch", reason="writing the Gemma 3 folder needs torch (the train extra)")
    pytest.importorskip("transformers", reason="writing the Gemma 3 folder needs transformers (the train extra)")
    from fixture_gemma3 import write_gemma3

    folder = tmp_path_factory.mktemp("gemma3") / "medgemma-tiny"
    write_gemma3(folder)
    return folder
