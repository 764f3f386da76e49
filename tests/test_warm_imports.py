"""After :func:`import_model_modules`, a chat session imports nothing more: starting it,
encoding a scan and answering questions with slice scores (an import in the model's worker
thread holds the GIL and stalls the viewer's window, see inference/chat/warm_imports.py)."""

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


def _new_modules(mode: str) -> list[str]:
    env = {**os.environ, "CTCHAT_SCAN_CACHE": "0"}  # a cache hit would skip the vision graph
    result = subprocess.run([sys.executable, "-c", SESSION, mode], capture_output=True, text=True, cwd=ROOT,
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
