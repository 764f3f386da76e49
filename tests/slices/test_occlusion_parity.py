"""Occlusion relevance equals a full recompute of the prompt with the slab zeroed.

The independent implementation is a fresh llama.cpp context driven through llama-cpp-python's
own low-level API (no ctchat runtime code): the whole prompt decoded again with the slab's
image tokens replaced by zero vectors at the same positions (each image read bidirectionally
where the model does), then the answer teacher-forced.

- A 3D bundle (images before the text, everything after the slab decoded again) must agree on
  every slab: tests/convert/test_convert_lamed.py, on a converted f32 M3D-LaMed layout. (The
  default bundle's LLM is Q4: a second sequence in the cache changes its rounding by ~0.1 nat,
  so it is checked here for its shape only; the baseline is scored the same way.)
- A slice-set bundle (tiny Gemma 3 at f32, a sliding window wider than the prompt, so every
  slice is seen) must agree exactly on its last slice; on the others ctchat keeps the later
  slices' cached states, and the printed difference is that approximation (docs/chat.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from occlusion_reference import relevance_and_recompute  # noqa: E402

from inference.bundle import load_bundle  # noqa: E402
from inference.chat import open_session  # noqa: E402
from inference.chat.relevance import occlusion_relevance  # noqa: E402
from inference.io import load_volume  # noqa: E402
from inference.resources import resource_path  # noqa: E402

QUESTION = "Is there a nodule in the right lung?"


def test_the_default_bundle_gives_one_finite_value_per_stored_slice():
    session = open_session(load_bundle("default"), n_threads=2)
    session.load_scan(load_volume(resource_path("demo", "chest_lungdx_A0001_5mm.nii.gz")))
    answer = session.ask("Where is the lesion located?", max_tokens=8)
    record = occlusion_relevance(session, answer).record()
    assert record["method"] == "occlusion" and record["slice_grid"] == "stored"
    assert len(record["original_slices"]) == 64 and np.all(np.isfinite(record["original_slices"]))
    assert len(record["slabs"]) == 4  # the 4 depth rows of its 4 x 4 x 4 token grid
    session.close()


def test_a_slice_set_is_exact_on_its_last_slice(tmp_path_factory):
    pytest.importorskip("transformers")
    from tiny_bundle import make_tiny_bundle

    bundle = load_bundle(make_tiny_bundle(tmp_path_factory.mktemp("occl"), sliding_window=4096))
    session = open_session(bundle, n_threads=2, exact_attention=True, slices=4)
    session.load_scan(load_volume(resource_path("demo", "chest_lungdx_A0001_5mm.nii.gz")))
    answer = session.ask(QUESTION, max_tokens=6)
    relevance, base, full = relevance_and_recompute(session, answer, True)
    error = np.abs(relevance.slab_values - full)
    print("slice-set occlusion vs full recompute (nats):", np.round(relevance.slab_values, 5), np.round(full, 5),
          "error", np.round(error, 5))
    assert abs(base - relevance.base_logprob) < 1e-3
    assert error[-1] < 1e-3  # only the question follows the last slice: exact
    assert np.all(np.isfinite(relevance.slab_values)) and relevance.original.shape == (64,)
    session.close()
