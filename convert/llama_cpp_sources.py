"""llama.cpp's own Hugging Face -> GGUF converter, taken from the llama-cpp-python sdist.

The llama-cpp-python wheel has the C library and its bindings but not llama.cpp's Python
converter; its source archive (sdist) does: ``vendor/llama.cpp/convert_hf_to_gguf.py``, the
``conversion/`` package it imports and ``gguf-py``. ``scripts/install.sh`` keeps that archive
in the wheel cache folder; it is never downloaded at run time. The converter is unpacked once
beside the cache, from the archive of the very llama-cpp-python version that is installed,
so the GGUF it writes is one that the installed llama.cpp reads.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import tarfile
from pathlib import Path

from . import steps
from .errors import ConversionError
from .progress import SOURCES, Progress, ProgressCallback, no_progress

PINNED_VERSION = "0.3.36"  # pyproject's llama-cpp-python pin; used when it is not installed
CONVERTER_SCRIPT = "convert_hf_to_gguf.py"
_MEMBERS = (CONVERTER_SCRIPT, "conversion/", "gguf-py/", "LICENSE")
# what the vendored converter imports on the paths we use (requirements-convert_*.txt pins
# torch 2.11 and transformers 4.57.6; tests/convert check it under the project's own pins)
CONVERTER_MODULES = ("torch", "transformers", "safetensors", "sentencepiece", "numpy", "yaml", "tqdm")


def llama_cpp_version() -> str:
    """The installed llama-cpp-python version (the pin when it is not installed)."""
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return PINNED_VERSION


def wheel_cache_dir() -> Path:
    """The folder ``scripts/install.sh`` keeps wheels and the sdist in (``CTCHAT_WHEEL_CACHE``)."""
    env = os.environ.get("CTCHAT_WHEEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "ctchat" / "wheels"


def sdist_path(version: str | None = None) -> Path:
    """Where the llama-cpp-python source archive of ``version`` is expected."""
    version = version or llama_cpp_version()
    return wheel_cache_dir() / f"llama_cpp_python-{version}.tar.gz"


def install_hint(version: str) -> str:
    """The command that puts the sdist where the converter looks for it."""
    return (f"python -m pip download --no-binary :all: --no-deps llama-cpp-python=={version} "
            f"-d {wheel_cache_dir()}")


def check_converter_requirements() -> None:
    """Raise if a Python package the converter imports is missing from this environment."""
    missing = [m for m in CONVERTER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise ConversionError(
            f"llama.cpp's converter needs the Python packages {', '.join(missing)}: install "
            "them with pip install -e '.[convert]'")


def converter_dir(progress: ProgressCallback = no_progress) -> Path:
    """The unpacked ``vendor/llama.cpp`` folder holding ``convert_hf_to_gguf.py``.

    Unpacks it from the sdist the first time (a few seconds), into
    ``<wheel cache>/../llama-cpp-convert-<version>``.

    Raises:
        ConversionError: the sdist is not in the wheel cache, or it is damaged.
    """
    version = llama_cpp_version()
    archive = sdist_path(version)
    if not archive.is_file():
        raise ConversionError(
            f"llama.cpp's converter comes from the llama-cpp-python {version} source archive, "
            f"which is not in {archive.parent}: run bash scripts/install.sh, or {install_hint(version)}")
    out = wheel_cache_dir().parent / f"llama-cpp-convert-{version}"
    inputs = {"sdist": steps.file_stamps([archive])}
    if steps.finished(out, inputs) is not None:
        return out / "vendor" / "llama.cpp"
    progress(Progress(SOURCES, message=f"unpacking llama.cpp's converter from {archive.name}"))
    tmp = steps.start(out)
    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    try:
        with tarfile.open(archive, "r:gz") as tar:
            wanted = [m for m in tar.getmembers()
                      if m.name.startswith(prefix) and m.name[len(prefix):].startswith(_MEMBERS)
                      and (m.isfile() or m.isdir())]
            for member in wanted:
                member.name = member.name[len(f"llama_cpp_python-{version}/"):]
            tar.extractall(tmp, members=wanted, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        steps.discard(tmp)
        raise ConversionError(f"{archive} could not be unpacked ({exc}): delete it and run "
                              f"{install_hint(version)}") from exc
    script = tmp / "vendor" / "llama.cpp" / CONVERTER_SCRIPT
    if not script.is_file():
        steps.discard(tmp)
        raise ConversionError(f"{archive.name} holds no vendor/llama.cpp/{CONVERTER_SCRIPT}: "
                              f"it is not a llama-cpp-python source archive; delete it and run {install_hint(version)}")
    steps.commit(tmp, out, SOURCES, inputs)
    progress(Progress(SOURCES, message="llama.cpp's converter unpacked", state="finished"))
    return out / "vendor" / "llama.cpp"
