"""After :func:`import_model_modules`, a chat session imports nothing more: starting it,
encoding a scan and answering questions with slice scores (an import in the model's worker
thread holds the GIL and stalls the viewer's window, see inference/chat/warm_imports.py); for a
slice-set bundle too (the tiny random Gemma 3): its loader, session, projector, slice encoding
with progress and a stop switch, and a scan answered again from the scan cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inference.resources import DEMO_CT

ROOT = Path(__file__).resolve().parent.parent

SESSION = f"""
import json, sys
from inference.io import load_volume
from inference.question import Question
volume = load_volume({str(DEMO_CT)!r})
if sys.argv[1] == "warm":
    from inference.chat.warm_imports import import_model_modules
    import_model_modules()
before = set(sys.modules)
from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.chat.scan_cache import scan_cache_from_env
session = ChatSession(load_bundle("default"), n_ctx=1024, scan_cache=scan_cache_from_env())
session.load_scan(volume)
yes_no = session.ask(Question.yes_no("nodule"), max_tokens=2)
open_ = session.ask("Which organ is shown?", max_tokens=4)
session.close()
assert yes_no.slice_scores is not None and open_.slice_scores is not None
print(json.dumps(sorted(set(sys.modules) - before)))
"""


# as the viewer's worker drives a slice-set session: the estimate, an encode it can stop, questions;
# then the same scan again, from the scan cache (its entry is read back, not encoded)
SLICE_SET_SESSION = f"""
import json, sys, threading
from inference.io import load_volume
from inference.question import Question
volume = load_volume({str(DEMO_CT)!r})
if sys.argv[1] == "warm":
    from inference.chat.warm_imports import import_model_modules
    import_model_modules()
before = set(sys.modules)
from inference.bundle import load_bundle
from inference.chat import open_session
from inference.chat.scan_cache import scan_cache_from_env
session = open_session(load_bundle(sys.argv[2]), n_threads=2, slices=3, scan_cache=scan_cache_from_env())
session.estimate_seconds(volume)
session.load_scan(volume, on_progress=lambda done, total: None, cancel=threading.Event())
session.ask(Question.yes_no("nodule"), max_tokens=2)
session.ask("Which organ is shown?", max_tokens=4)
session.load_scan(volume)
assert session.from_cache
session.close()
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _new_modules(mode: str, script: str = SESSION, *args: str, **env: str) -> list[str]:
    env = {**os.environ, "CTCHAT_SCAN_CACHE": "0", **env}  # a cache hit would skip the vision graph
    result = subprocess.run([sys.executable, "-c", script, mode, *args], capture_output=True, text=True, cwd=ROOT,
                            timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_a_session_imports_nothing_after_the_warm_imports(mode):
    new = _new_modules(mode)
    tops = {m.split(".")[0] for m in new}
    if mode == "cold":  # the check can fail: without them the session imports the runtimes
        assert {"onnxruntime", "llama_cpp", "gguf"} <= tops
    else:
        assert new == []


@pytest.fixture(scope="module")
def tiny_slice_set(tmp_path_factory) -> Path:
    sys.path.insert(0, str(Path(__file__).parent / "slices"))
    from tiny_bundle import tiny_bundle_or_skip

    return tiny_bundle_or_skip(tmp_path_factory.mktemp("tiny"))


@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_a_slice_set_session_imports_nothing_after_the_warm_imports(mode, tiny_slice_set, tmp_path):
    new = _new_modules(mode, SLICE_SET_SESSION, str(tiny_slice_set), CTCHAT_SCAN_CACHE="1",
                       XDG_CACHE_HOME=str(tmp_path / "cache"), CTCHAT_DATA_DIR=str(tmp_path / "data"))
    if mode == "cold":  # the check can fail: without them the session imports the slice-set modules
        assert {"inference.chat.slice_session", "inference.slices.render", "inference.llm.projector",
                "llama_cpp.mtmd_cpp"} <= set(new)
    else:
        assert new == []
