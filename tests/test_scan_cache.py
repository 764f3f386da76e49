"""The per-scan cache: a hit gives the same answer and slice scores as a cold run and skips
the vision graphs and the prefix decode; a changed scan or bundle misses; the size limit holds;
a damaged entry is a miss, never an error."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from inference.bundle import bundle_dir, load_bundle
from inference.chat import ChatSession
from inference.chat.scan_cache import CachedScan, ScanCache
from inference.io import load_volume
from inference.resources import DEMO_CT

QUESTION = "Is there a nodule in the right upper lobe?"


@pytest.fixture(scope="module")
def volume():
    return load_volume(DEMO_CT)


def ask_once(bundle, volume, cache):
    session = ChatSession(bundle, device="cpu", scan_cache=cache)
    try:
        timings = session.load_scan(volume)
        answer = session.ask(QUESTION, max_tokens=12)
        return session.from_cache, timings, answer
    finally:
        session.close()


def test_a_hit_answers_as_a_cold_run_and_a_changed_scan_or_bundle_misses(tmp_path, volume):
    cache = ScanCache(tmp_path / "cache")
    bundle = load_bundle("default")
    hit, cold_t, cold = ask_once(bundle, volume, cache)
    assert not hit and len(cache.entries()) == 1
    hit, warm_t, warm = ask_once(bundle, volume, cache)
    assert hit and warm.text == cold.text
    np.testing.assert_array_equal(warm.slice_scores, cold.slice_scores)
    assert warm_t["vision"] < cold_t["vision"] and warm_t["llm_prefix"] < cold_t["llm_prefix"]
    # the entry's name is a hash: nothing of the scan or patient
    assert all(len(p.stem) == 64 and set(p.stem) <= set("0123456789abcdef") for p in cache.entries())

    changed = load_volume(DEMO_CT)
    changed.voxels[changed.voxels.shape[0] // 2] += 100  # one slice 100 HU brighter
    assert not ask_once(bundle, changed, cache)[0]

    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir("default"), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["version"] += "-copy"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert not ask_once(load_bundle(copy), volume, cache)[0]
    assert len(cache.entries()) == 3


def test_the_size_limit_drops_the_least_recently_used(tmp_path):
    entry = CachedScan({"image_tokens_3d": np.zeros((1, 64, 64), np.float32)}, b"x" * 1000, 65)
    one = len(np.zeros((1, 64, 64), np.float32).tobytes()) + 1000
    cache = ScanCache(tmp_path, max_bytes=int(2.5 * one) + 2000)
    for key in ("a" * 64, "b" * 64):
        cache.put(key, entry)
    assert cache.get("a" * 64) is not None  # a is now the most recently used
    cache.put("c" * 64, entry)
    assert [p.stem[0] for p in cache.entries()] == ["a", "c"]
    got = cache.get("c" * 64)
    assert bytes(got.kv) == entry.kv and got.prefix_end == 65
    np.testing.assert_array_equal(got.scan["image_tokens_3d"], entry.scan["image_tokens_3d"])


def test_a_damaged_entry_is_a_miss_and_is_removed(tmp_path):
    cache = ScanCache(tmp_path)
    (tmp_path / f"{'d' * 64}.scan").write_bytes(b"not a cache entry")
    assert cache.get("d" * 64) is None and not cache.entries()
