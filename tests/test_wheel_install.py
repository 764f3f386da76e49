"""The app as a wheel: built from this working tree, installed into a fresh virtual environment
outside the checkout, run from a folder outside it.

Installing every dependency from PyPI would take many minutes, so the fresh environment gets the
wheel alone (``--no-deps``) and sees the checkout environment's installed dependencies through a
path line in a ``.pth`` file. Python does not process the ``.pth`` files inside a folder named
that way, so the checkout's editable-install finder stays inactive: ``import inference`` must
resolve to the wheel's copy, and the tests check that it does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Is there a nodule or mass in the lungs?"
RESOURCE_FILES = [
    "ctchat_resources/presets/window_level.json",
    "ctchat_resources/presets/volume_rendering.json",
    "ctchat_resources/prompts/tasks.json",
    "ctchat_resources/demo/chest_lungdx_A0001_5mm.nii.gz",
    "ctchat_resources/bundles/default/manifest.json",
    "ctchat_resources/bundles/default/scan.onnx",
    "ctchat_resources/bundles/default/question.onnx",
    "ctchat_resources/bundles/default/lora.gguf",
]


def _working_tree_copy(dest: Path) -> Path:
    """The files git tracks or would track (not ignored), copied: the build never sees stale
    ``build/`` output or writes into the checkout."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel ``pip wheel`` builds from a copy of the working tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = _working_tree_copy(tmp / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp / "dist")], check=True, capture_output=True)
    (built,) = (tmp / "dist").glob("ctchat-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory) -> Path:
    """A fresh virtual environment outside the checkout with the wheel installed."""
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install",
                    "-q", "--no-deps", str(wheel)], check=True, capture_output=True)
    site = Path(subprocess.run([str(root / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "checkout_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["CTCHAT_SCAN_CACHE"] = "0"
    return env


def _run(venv: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``args[0]`` from the fresh environment's ``bin/`` in ``cwd``."""
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)


def test_the_wheel_holds_the_resources(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [f for f in RESOURCE_FILES if f not in names] == []
    assert "inference/resources.py" in names and "viewer/window/main_window.py" in names


def test_the_installed_app_is_the_wheel_not_the_checkout(venv: Path, tmp_path: Path) -> None:
    probe = ("import json, inference, ctchat_resources\n"
             "from inference.resources import DEMO_CT, resource_path\n"
             "from inference.bundle import bundle_dir\n"
             "print(json.dumps([inference.__file__, ctchat_resources.__file__, str(DEMO_CT),\n"
             "                  str(bundle_dir('default')), str(resource_path('prompts', 'tasks.json'))]))")
    out = _run(venv, ["python", "-c", probe], tmp_path)
    assert out.returncode == 0, out.stderr
    paths = [Path(p).resolve() for p in json.loads(out.stdout)]
    for path in paths:
        assert path.exists(), path
        assert path.is_relative_to(venv.resolve()), f"{path} is not inside the fresh environment"
        assert not path.is_relative_to(ROOT)


def test_ctchat_ask_from_the_wheel_answers_on_the_demo(venv: Path, tmp_path: Path) -> None:
    demo = _run(venv, ["python", "-c", "from inference.resources import DEMO_CT; print(DEMO_CT)"],
                tmp_path).stdout.strip()
    out = _run(venv, ["ctchat", "ask", demo, QUESTION, "--json", "--max-tokens", "4"], tmp_path)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["bundle"]["name"] == "ctchat-default"
    assert result["answer"].strip()
    assert len(result["slice_scores"]["original_slices"]) == 64  # the demo CT's slices
    assert "CPUExecutionProvider" in result["providers"]


def test_the_wheel_carries_every_bench_target(venv: Path, tmp_path: Path) -> None:
    out = _run(venv, ["ctchat", "bench", "--help"], tmp_path)
    assert out.returncode == 0, out.stderr
    listed = {line.split()[0] for line in out.stdout.splitlines() if line.startswith("    ")}
    assert {"io", "bundle", "batch", "llm", "encoder", "viewer"} <= listed
    assert "unavailable" not in out.stdout
