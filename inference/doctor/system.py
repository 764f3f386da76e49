"""Doctor checks of the machine and the install: Python, memory, the data folder, the GPU the
driver reports, and the default bundle's hashes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .check import FAIL, OK, WARN, Check

GIB = 1 << 30
MIN_FREE_MEMORY = 2 * GIB  # the default model, a scan and the viewer, with room to spare
MIN_FREE_DISK = 1 * GIB  # the assembled LLM (250 MB) and the scan cache


def python_check() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    detail = f"{version} ({sys.executable})"
    if (3, 11) <= sys.version_info[:2] < (3, 13):
        return Check("python", OK, detail)
    return Check("python", WARN, detail, "ctchat is built and tested on Python 3.11 and 3.12")


def memory_available() -> tuple[int, int] | None:
    """(available, total) bytes from /proc/meminfo; None where there is none."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        return int(fields["MemAvailable"].split()[0]) * 1024, int(fields["MemTotal"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def memory_check() -> Check:
    memory = memory_available()
    if memory is None:
        return Check("memory", WARN, "free memory unknown (no /proc/meminfo)")
    available, total = memory
    detail = f"{available / GIB:.1f} GiB available of {total / GIB:.1f} GiB"
    if available < MIN_FREE_MEMORY:
        return Check("memory", WARN, detail, f"under {MIN_FREE_MEMORY // GIB} GiB free: close other programs "
                     "before opening a large scan")
    return Check("memory", OK, detail)


def data_folder_check() -> Check:
    """The per-user data folder: writable, with room for the LLM and the scan cache."""
    from ..llm.model_files import DEFAULT_GGUF_NAME
    from ..resources import data_dir

    try:
        folder = data_dir()
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return Check("data folder", FAIL, f"not writable: {exc.strerror} ({exc.filename})",
                     "set CTCHAT_DATA_DIR to a folder you can write to")
    free = shutil.disk_usage(folder).free
    llm = "assembled" if (folder / "models" / DEFAULT_GGUF_NAME).is_file() else "assembled on first use"
    detail = f"{folder}: {free / GIB:.1f} GiB free; default LLM {llm}"
    if free < MIN_FREE_DISK:
        return Check("data folder", WARN, detail, "under 1 GiB free: free some space or set CTCHAT_DATA_DIR elsewhere")
    return Check("data folder", OK, detail)


def bundle_check(name: str = "default") -> Check:
    """Every file of the bundle, the LLM included, against its manifest's SHA-256."""
    from ..bundle import BundleError, load_bundle

    try:
        bundle = load_bundle(name, verify_llm=True)
    except BundleError as exc:
        return Check("bundle", FAIL, str(exc), "reinstall ctchat (pip install --force-reinstall), "
                     "or give another bundle with --bundle")
    return Check("bundle", OK, f"{bundle.name}: every file matches its SHA-256 ({bundle.root})")


def nvidia_gpus() -> list[str]:
    """The NVIDIA GPUs the driver reports (name, driver, memory), empty without driver or GPU."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


def gpu_check(gpus: list[str]) -> Check:
    if not gpus:
        return Check("gpu", OK, "no NVIDIA GPU found (nvidia-smi): everything runs on the CPU")
    return Check("gpu", OK, "; ".join(gpus))
