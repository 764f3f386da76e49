"""The shape of the code: ``inference`` never imports Qt, VTK or the viewer; no file over 400 lines."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import inference

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contract_holds():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_every_inference_module_loads_no_gui_library():
    modules = [m.name for m in pkgutil.walk_packages(inference.__path__, "inference.")]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in {'PySide6', 'vtk', 'vtkmodules', 'pyvista', 'pyvistaqt', 'viewer'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"inference pulled in: {result.stdout}"


def test_no_source_file_is_over_400_lines():
    # small files with one purpose: a file past this has two and is split
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:  # not a git checkout (an unpacked sdist): every file there is
        files = [p.relative_to(ROOT) for p in ROOT.rglob("*.py") if ".venv" not in p.parts]
    else:
        files = [Path(p) for p in tracked.stdout.split()]
    assert files
    long = {str(p): n for p in files if (n := len((ROOT / p).read_text().splitlines())) > 400}
    assert not long, f"over 400 lines: {long}"
