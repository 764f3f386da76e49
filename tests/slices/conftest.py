"""Fixtures of the slice-set tests: the tiny random Gemma 3 folder in MedGemma 1.5's layout,
written once per session (fixture_gemma3.py; tests/slices is on sys.path as pytest's rootdir-less
test folder, as tests/convert is)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def gemma3_folder(tmp_path_factory) -> Path:
    """A read-only-by-convention ``medgemma-tiny`` folder (config, safetensors, tokenizer, card)."""
    from tiny_bundle import medgemma_tiny_or_skip

    return medgemma_tiny_or_skip(tmp_path_factory.mktemp("gemma3"))
