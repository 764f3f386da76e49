"""Fixtures of the converter tests: one SentencePiece model for the whole session."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers", reason="the converter tests need the train extra (transformers, torch)")


@pytest.fixture(scope="session")
def sp_model(tmp_path_factory):
    """A small SentencePiece BPE model (Llama's settings), trained once."""
    from fixture_tokenizers import train_spm

    return train_spm(tmp_path_factory.mktemp("spm"))
