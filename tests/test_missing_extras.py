"""An install without an optional extra, or ``--ray auto`` without a cluster: one sentence that
says what to install or start, exit status 1, no traceback (each command in its own process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inference.resources import shared_ct_dir

CT5N = shared_ct_dir() / "tiny" / "pydicom_dicomdirtests_CT5N"

# Imported first by every Python process whose path starts with its folder: the packages named
# in CTCHAT_TEST_UNINSTALLED cannot be imported, as if their extra had not been installed.
UNINSTALL_HOOK = '''
import os, sys

class _Uninstalled:
    names = set(os.environ["CTCHAT_TEST_UNINSTALLED"].split(","))

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Uninstalled())
'''


def _python(tmp_path: Path, *args: str, uninstalled: str = "") -> subprocess.CompletedProcess:
    """``python ARGS`` with the packages ``uninstalled`` (comma-separated) missing, the data
    folder (crash logs) and Ray's temp folder in ``tmp_path``, and no RAY_ADDRESS."""
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(UNINSTALL_HOOK)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(PYTHONPATH=str(hook), CTCHAT_TEST_UNINSTALLED=uninstalled, CTCHAT_DATA_DIR=str(tmp_path / "data"),
               CTCHAT_SCAN_CACHE="0", RAY_TMPDIR=str(tmp_path / "ray"))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).parents[1], timeout=300)


def _ctchat(tmp_path: Path, *args: str, uninstalled: str = "") -> subprocess.CompletedProcess:
    return _python(tmp_path, "-m", "inference.cli", *args, uninstalled=uninstalled)


def _one_sentence(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "bug in ctchat" not in lines[0]
    return lines[0]


def test_without_onnx_runtime_ask_names_the_extra_to_install(tmp_path):
    line = _one_sentence(_ctchat(tmp_path, "ask", str(CT5N), "Is there a nodule?", uninstalled="onnxruntime"))
    assert "ONNX Runtime is not installed" in line and 'pip install "ctchat[cpu]"' in line and "ctchat[gpu]" in line


@pytest.mark.parametrize("uninstalled", ["llama_cpp,gguf", "llama_cpp"])
def test_without_llama_cpp_ask_names_the_extra_to_install(tmp_path, uninstalled):
    line = _one_sentence(_ctchat(tmp_path, "ask", str(CT5N), "Is there a nodule?", uninstalled=uninstalled))
    assert line.startswith("ctchat: llama-cpp-python is not installed: bash scripts/install.sh builds and installs it")
    assert 'pip install "ctchat[llm]"' in line


def test_without_gguf_ask_names_the_extra_to_install(tmp_path):
    line = _one_sentence(_ctchat(tmp_path, "ask", str(CT5N), "Is there a nodule?", uninstalled="gguf"))
    assert "the gguf package is not installed" in line and 'pip install "ctchat[llm]"' in line


def test_a_missing_llama_cpp_is_a_missing_extra(monkeypatch):
    from inference.llm.errors import LLMError
    from inference.llm.library import llama_library
    from inference.missing_extra import MissingExtra

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if never installed: the import fails
    with pytest.raises(MissingExtra, match=r'llama-cpp-python is not installed: .*"ctchat\[llm\]"') as caught:
        llama_library()
    assert isinstance(caught.value, LLMError)  # ctchat doctor's llama.cpp check still takes it as its FAIL


def test_a_llama_cpp_without_its_multimodal_library_is_a_missing_extra(monkeypatch):
    pytest.importorskip("llama_cpp")
    from inference.llm.projector import mtmd_library
    from inference.missing_extra import MissingExtra

    monkeypatch.setitem(sys.modules, "llama_cpp.mtmd_cpp", None)  # an older wheel without mtmd
    with pytest.raises(MissingExtra, match=r"no usable multimodal \(mtmd\) library .*the version ctchat pins"):
        mtmd_library()


def test_ray_auto_without_a_cluster_says_how_to_get_one(tmp_path):
    pytest.importorskip("ray")
    from ray._private.services import find_gcs_addresses

    if find_gcs_addresses():
        pytest.skip("a Ray cluster runs on this machine")
    line = _one_sentence(_ctchat(tmp_path, "batch", str(CT5N), "--out", str(tmp_path / "out.jsonl"), "--ray", "auto"))
    assert "no Ray cluster was found" in line and "ray start --head" in line and "--ray ADDRESS" in line


VIEWER_CHAT_START = """
from inference.chat.warm_imports import import_model_modules
from viewer.chat.worker import ChatWorker
from viewer.models.chat import ChatModel

import_model_modules()  # as the viewer's window does before it shows
model, worker = ChatModel(128), ChatWorker()
worker.failed.connect(model.start_failed)
worker.start_session()
print(model.state.name, model.status_is_error, model.status)
"""


def test_without_onnx_runtime_the_viewers_chat_names_the_extra_to_install(tmp_path):
    pytest.importorskip("PySide6")
    result = _python(tmp_path, "-c", VIEWER_CHAT_START, uninstalled="onnxruntime")
    assert result.returncode == 0, result.stderr[-3000:]
    state, is_error, status = result.stdout.strip().splitlines()[-1].split(" ", 2)
    assert state == "FAILED" and is_error == "True"
    assert "the viewer works without chat" in status and 'pip install "ctchat[cpu]"' in status
