"""Shared fixtures: the real CT data beside the checkout (../shared/data/ct)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inference.resources import shared_ct_dir

# the tests never read or fill the user's scan cache (tests of the cache give it a folder)
os.environ["CTCHAT_SCAN_CACHE"] = "0"

CT_DIR = shared_ct_dir()


def pytest_sessionstart(session: pytest.Session) -> None:
    if not CT_DIR.is_dir():
        raise pytest.UsageError(f"real CT test data not found at {CT_DIR} (set CTCHAT_CT_DATA)")


@pytest.fixture(scope="session")
def ct_dir() -> Path:
    """Root of the real CT scans (see its README for provenance)."""
    return CT_DIR


@pytest.fixture(scope="session")
def a0001_dicom(ct_dir: Path) -> Path:
    """The A0001 chest series: 64 uncompressed slices, 512 x 512, 5 mm."""
    return ct_dir / "dicom" / "chest_lungdx_A0001_5mm"


@pytest.fixture(scope="session")
def a0001_volume(a0001_dicom: Path):
    """The A0001 chest, loaded once for the session."""
    from inference.io import load_volume

    return load_volume(a0001_dicom)


@pytest.fixture(scope="session")
def next_token_logits():
    """A function: llama.cpp's next-token logits after a short prompt, for a GGUF with an
    optional LoRA adapter at a scale."""
    from inference.llm.runtime import LlamaRuntime

    def logits(gguf, lora=None, scale: float = 1.0, prompt: str = "<bos>The chest CT shows"):
        llm = LlamaRuntime(gguf, n_ctx=128, lora_path=lora, lora_scale=scale)
        llm.decode([llm.tokenize(prompt)], 0)
        out = llm.last_logits()
        llm.close()
        return out

    return logits


@pytest.fixture(scope="session")
def adapter_logit_shift(next_token_logits):
    """A function: the largest change a bundle's LoRA adapter makes to the LLM's next-token
    logits (0.0 when the adapter does nothing)."""
    import numpy as np

    def shift(bundle) -> float:
        base, adapted = (next_token_logits(bundle.llm_path, lora) for lora in (None, bundle.lora_path))
        return float(np.abs(adapted - base).max())

    return shift
