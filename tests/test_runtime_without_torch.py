"""The runtime answers without model building: ``ctchat ask`` on the demo CT in a process where
torch (and everything that trains) cannot be imported at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from inference.resources import DEMO_CT

ROOT = Path(__file__).resolve().parent.parent
BLOCKED = ("torch", "transformers", "peft", "accelerate", "onnx", "onnxscript", "training")

# A meta-path finder placed first: importing any blocked package (or a module under it) fails as
# if it were not installed, whoever asks for it.
BLOCKER = f"""
import importlib.abc, sys
BLOCKED = {BLOCKED!r}

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
        return None

sys.meta_path.insert(0, Blocker())
"""


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + code], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def test_the_blocker_really_blocks():
    result = _run("import torch")
    assert result.returncode != 0 and "blocked by the test" in result.stderr


def test_ctchat_ask_answers_on_the_demo_ct_without_torch():
    code = (
        "import sys\n"
        "from inference.cli import main\n"
        f"rc = main(['ask', {str(DEMO_CT)!r}, 'Is there a nodule or mass in the lungs?', '--json', '--max-tokens', '4'])\n"
        f"leaked = sorted(m for m in sys.modules if m.split('.')[0] in {BLOCKED!r})\n"
        "print('LEAKED', leaked, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout)
    assert answer["question"] == "Is there a nodule or mass in the lungs?" and answer["n_tokens"] >= 1
    assert len(answer["slice_scores"]["model_slices"]) == 32
    assert sum(answer["slice_scores"]["model_slices"]) == pytest.approx(1.0, abs=1e-4)
    assert "LEAKED []" in result.stderr
