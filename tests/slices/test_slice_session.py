"""A slice-set bundle answers as its reference implementation does.

The tiny random Gemma 3 in MedGemma 1.5's layout (fixture_gemma3.py) is converted by llama.cpp's
converter; ctchat renders a real CT's slices, encodes them with llama.cpp's multimodal library
and lays out the prompt itself. The reference is transformers' Gemma3ForConditionalGeneration
with its own processor and chat template, given exactly the slice PNGs ctchat wrote
(``--save-model-input``) and the content list of its ``prompt.json``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tiny_bundle import make_tiny_bundle  # noqa: E402

from inference.bundle import BundleError, load_bundle  # noqa: E402
from inference.chat import open_session  # noqa: E402
from inference.chat.model_input_files import save_model_input  # noqa: E402
from inference.chat.scan_cache import ScanCache  # noqa: E402
from inference.io import load_volume  # noqa: E402
from inference.llm.errors import ContextOverflow  # noqa: E402
from inference.question import Question  # noqa: E402
from inference.resources import resource_path  # noqa: E402

QUESTION = "Is there a nodule in the right lung?"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_bundle(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def volume():
    return load_volume(resource_path("demo", "chest_lungdx_A0001_5mm.nii.gz"))


def reference_logits(source: Path, saved: Path) -> tuple[np.ndarray, list[int]]:
    """transformers' last-position logits and input ids for the saved model input."""
    from PIL import Image

    processor = transformers.AutoProcessor.from_pretrained(source)
    model = transformers.Gemma3ForConditionalGeneration.from_pretrained(source, dtype=torch.float32).eval()
    messages = json.loads((saved / "prompt.json").read_text())["messages"]
    images = [Image.open(saved / item["file"]).convert("RGB")
              for item in messages[0]["content"] if item["type"] == "image"]
    content = [{"type": "image"} if item["type"] == "image" else item for item in messages[0]["content"]]
    text = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True,
                                         tokenize=False)
    inputs = processor(text=text, images=images, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1].numpy()
    return logits, inputs.input_ids[0].tolist()


def test_first_token_and_sequence_match_transformers(tiny, volume, tmp_path):
    session = open_session(load_bundle(tiny), n_threads=2, exact_attention=True, slices=4)
    session.load_scan(volume)
    question = Question("open", QUESTION)
    saved = save_model_input(session, question, tmp_path / "input")
    ours = session.first_token_logits(question)
    reference, ids = reference_logits(tiny.parent / "source", saved)

    sequence = session.sequence(question)
    image_token = transformers.AutoTokenizer.from_pretrained(tiny.parent / "source").convert_tokens_to_ids(
        "<image_soft_token>")
    mine: list[int] = []
    for text in sequence.prefix:
        mine += session.llm.tokenize(text) + [image_token] * session.bundle.slice_recipe.tokens_per_image
    mine += session.llm.tokenize(sequence.texts[-1])
    assert mine == ids  # the processor's token sequence, "\n\n" around each image included
    assert int(np.argmax(ours)) == int(np.argmax(reference))
    assert np.corrcoef(ours, reference)[0, 1] > 0.9999
    assert np.abs(ours - reference).max() < 0.05 * np.abs(reference).max()  # f16 projector
    session.close()


def test_follow_up_questions_reuse_the_slices_and_the_cache_reopens_them(tiny, volume, tmp_path):
    cache = ScanCache(tmp_path / "cache")
    first = open_session(load_bundle(tiny), n_threads=2, slices=5, scan_cache=cache)
    first.load_scan(volume)
    a = first.first_token_logits(QUESTION)
    first.ask("Describe the slices.", max_tokens=24)  # an answer longer than nothing, then the same question
    b = first.first_token_logits(QUESTION)
    np.testing.assert_array_equal(a, b)  # the slices' state restored exactly (Gemma 3's sliding window)
    assert not first.from_cache
    first.close()

    again = open_session(load_bundle(tiny), n_threads=2, slices=5, scan_cache=cache)
    again.load_scan(volume)
    assert again.from_cache and again.sent_slices == first.sent_slices
    np.testing.assert_array_equal(again.first_token_logits(QUESTION), a)
    again.close()


def test_sent_slices_follow_the_budget(tiny, volume):
    session = open_session(load_bundle(tiny), n_threads=2, slices=3)
    session.load_scan(volume)
    n = volume.as_stored().shape[0]
    assert session.sent_slices == [round(i / 3 * (n - 1)) for i in range(1, 4)]
    assert session.budget == 3
    session.close()


def test_a_context_too_small_is_refused_before_encoding(tiny, volume):
    from inference.chat.slice_session import SliceSetSession

    session = SliceSetSession(load_bundle(tiny), n_threads=2, n_ctx=512, slices=4)
    encoded = []
    session.projector.encode = lambda image: encoded.append(image)  # noqa: E731 - must not be reached
    with pytest.raises(ContextOverflow, match="send fewer slices"):
        session.load_scan(volume)
    assert not encoded and session.model_input is None
    session.close()


def test_encoding_can_be_cancelled_between_slices(tiny, volume):
    import threading

    from inference.chat.slice_session import EncodeCancelled

    session = open_session(load_bundle(tiny), n_threads=2, slices=4)
    cancel = threading.Event()
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        cancel.set()

    with pytest.raises(EncodeCancelled):
        session.load_scan(volume, on_progress=progress, cancel=cancel)
    assert seen == [(1, 4)] and session.model_input is None
    session.close()


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


@pytest.mark.parametrize("damage, sentence", [
    ("no_projector", "vision projector (mmproj) mmproj.gguf is missing"),
    ("projector_as_model", "is a vision projector (mmproj), not the language model"),
    ("model_as_projector", "is not a vision projector"),
    ("truncated", "cut short"),
])
def test_bad_bundles_get_one_sentence(tiny, tmp_path, damage, sentence):
    broken = tmp_path / "broken"
    shutil.copytree(tiny, broken)
    if damage == "no_projector":
        (broken / "mmproj.gguf").unlink()
    elif damage == "projector_as_model":
        shutil.copy(broken / "mmproj.gguf", broken / "model.gguf")
    elif damage == "model_as_projector":
        shutil.copy(broken / "model.gguf", broken / "mmproj.gguf")
    else:
        data = (broken / "model.gguf").read_bytes()
        _write(broken / "model.gguf", data[: len(data) * 2 // 3])
    with pytest.raises(BundleError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        load_bundle(broken)


def test_a_projector_of_another_model_is_named(tiny, tmp_path):
    from fixture_gemma3 import write_gemma3
    from tiny_bundle import convert_pair

    other = tmp_path / "other"
    write_gemma3(other / "source", hidden=96, head_dim=24)
    _, projector = convert_pair(other / "source", other / "out")
    broken = tmp_path / "mixed"
    shutil.copytree(tiny, broken)
    shutil.copy(projector, broken / "mmproj.gguf")
    with pytest.raises(BundleError, match="makes image tokens 96 wide but model.gguf is 64 wide"):
        load_bundle(broken)
