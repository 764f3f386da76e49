"""Shared fixtures: the real CT data beside the checkout (../shared/data/ct)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.resources import shared_ct_dir

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
def adapter_logit_shift():
    """A function: the largest change a bundle's LoRA adapter makes to the LLM's next-token
    logits after a short prompt (0.0 when the adapter does nothing)."""
    import numpy as np

    from inference.llm.runtime import LlamaRuntime

    def shift(bundle, prompt: str = "<bos>The chest CT shows") -> float:
        logits = []
        for lora in (None, bundle.lora_path):
            llm = LlamaRuntime(bundle.llm_path, n_ctx=128, lora_path=lora)
            llm.decode_tokens(llm.tokenize(prompt), 0)
            logits.append(llm.last_logits().copy())
            llm.close()
        return float(np.abs(logits[1] - logits[0]).max())

    return shift
