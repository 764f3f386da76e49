"""``ctchat ask --save-model-input DIR`` on the default native-3D bundle: the files hold exactly
what the model was given (the preprocessed array, and the prompt's token ids)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.bundle import load_bundle
from inference.cli import main
from inference.io import load_volume
from inference.llm.runtime import LlamaRuntime
from inference.preprocess import preprocess
from inference.resources import resource_path

QUESTION = "Is there a nodule in the right lung?"


@pytest.fixture(scope="module")
def demo() -> Path:
    return resource_path("demo", "chest_lungdx_A0001_5mm.nii.gz")


def run_ask(demo: Path, folder: Path, *extra: str) -> int:
    return main(["ask", str(demo), QUESTION, "--max-tokens", "2", "--device", "cpu", "--no-scan-cache",
                 "--save-model-input", str(folder), *extra])


def decoded(llm: LlamaRuntime, ids: list[int]) -> str:
    """The text of ``ids`` by llama.cpp's detokenizer: each token's bytes; a control token
    (``<bos>``, whose bytes llama.cpp leaves empty) as its vocabulary text."""
    return b"".join(llm.piece(t) or llm.token_text(t).encode() for t in ids).decode("utf-8")


def test_ask_saves_the_preprocessed_array_and_the_prompt_tokens(demo: Path, tmp_path: Path, capfd) -> None:
    folder = tmp_path / "input"
    assert run_ask(demo, folder) == 0
    err = capfd.readouterr().err
    assert f"the model's input for this question is in {folder}" in err

    bundle = load_bundle("default")
    expected = preprocess(load_volume(demo), bundle.recipe).array
    got = np.load(folder / "input.npy")
    assert got.dtype == expected.dtype and got.shape == expected.shape and np.array_equal(got, expected)

    prompt = json.loads((folder / "prompt.json").read_text())
    assert prompt["question"] == QUESTION and prompt["input"]["shape"] == list(expected.shape)
    texts = [s for s in prompt["segments"] if "token_ids" in s]
    assert texts and any(QUESTION in s["text"] for s in texts)
    llm = LlamaRuntime(bundle.llm_path, n_ctx=64)
    try:
        for segment in texts:
            assert decoded(llm, segment["token_ids"]) == segment["text"]
    finally:
        llm.close()
    slots = [s for s in prompt["segments"] if "token_ids" not in s]
    assert [s["kind"] for s in slots][0] == "image_3d"
    assert slots[0]["n_vectors"] == bundle.layout.n_tokens_3d and slots[0]["width"] == bundle.layout.hidden


def test_slices_on_a_3d_bundle_is_said_to_be_ignored(demo: Path, tmp_path: Path, capfd) -> None:
    assert run_ask(demo, tmp_path / "input", "--slices", "4", "--json") == 0
    out, err = capfd.readouterr()
    ignored = [line for line in err.splitlines() if "--slices" in line]
    assert len(ignored) == 1 and "ignored" in ignored[0] and "fixed by its recipe" in ignored[0]
    report = json.loads(out)
    assert report["sent_slices"] is None and report["answer"] is not None and "slice_scores" in report
