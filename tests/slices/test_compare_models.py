"""One question, several bundles: each answers from the scan by its own recipe, a bundle that
cannot answer says why in one sentence, and the results export together."""

from __future__ import annotations

import csv
import html
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest.importorskip("transformers")

from tiny_bundle import make_tiny_bundle  # noqa: E402

from inference.chat.compare import ask_models, write_comparison  # noqa: E402
from inference.io import load_volume  # noqa: E402
from inference.question import Question  # noqa: E402
from inference.resources import resource_path  # noqa: E402
from inference.slices.recipe import SliceRecipe  # noqa: E402


def test_a_3d_and_a_slice_set_bundle_answer_side_by_side(tmp_path):
    tiny = make_tiny_bundle(tmp_path / "tiny", recipe=SliceRecipe(max_slices=3))
    picky = make_tiny_bundle(tmp_path / "picky", recipe=SliceRecipe(max_slices=3, min_slices=500))
    volume = load_volume(resource_path("demo", "chest_lungdx_A0001_5mm.nii.gz"))
    question = Question("open", "Where is the lesion located?")
    results = ask_models(["default", tiny, picky], volume, question, max_tokens=8, relevance=True)

    default, slices, refused = results
    assert default.answer is not None and default.answer.original_scores is not None  # TG-IS
    assert default.relevance is not None and len(default.relevance.original) == 64
    assert slices.answer is not None and len(slices.sent_slices) == 3 and slices.relevance is not None
    assert refused.answer is None and "needs at least 500" in refused.error

    paths = write_comparison(results, tmp_path / "out", scan_id="A0001")
    rows = list(csv.DictReader(open(paths[0], encoding="utf-8")))
    assert [r["bundle"] for r in rows] == [default.bundle, slices.bundle, refused.bundle]
    assert rows[2]["error"] and not rows[2]["answer"]
    long = list(csv.DictReader(open(paths[1], encoding="utf-8")))
    methods = {(r["bundle"], r["method"]) for r in long}
    assert methods == {(default.bundle, "tgis"), (default.bundle, "occlusion"), (slices.bundle, "occlusion")}
    assert sum(1 for r in long if r["bundle"] == slices.bundle) == 64  # one value per stored slice
    page = paths[2].read_text(encoding="utf-8")
    assert question.shown in page and html.escape(refused.error) in page
