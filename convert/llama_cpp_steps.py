"""Steps 2 and 3, done by llama.cpp itself: its ``convert_hf_to_gguf.py`` (HF folder -> f32 or
f16 GGUF) and its quantiser (``llama_model_quantize``), each in a child process whose log is
read line by line for progress and kept in a ``.log`` file beside the output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Iterator

from .errors import ConversionError
from .llama_cpp_sources import CONVERTER_SCRIPT, check_converter_requirements, converter_dir
from .progress import GGUF, QUANTIZE, Progress, ProgressCallback, no_progress

CONVERTER_TYPES = ("f32", "f16")  # what we ask convert_hf_to_gguf.py for
# llama_ftype numbers (llama.h) of the quantised types offered
QUANT_FTYPES = {"f16": 1, "q8_0": 7, "q4_k_m": 15}

_TENSOR_LINE = re.compile(r"^INFO:hf-to-gguf:([\w.]+),\s+torch\.\w+ --> \w+, shape")
_WRITING = re.compile(r"^Writing:\s+(\d+)%")
_QUANT_LINE = re.compile(r"^\[\s*(\d+)/\s*(\d+)\]\s+(\S+)")
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _lines(stream) -> Iterator[str]:
    """Lines of a child's output as they come, split at ``\\n`` and tqdm's ``\\r``."""
    pending = b""
    while chunk := stream.read1(1 << 16):
        pending += chunk
        *complete, pending = re.split(rb"[\r\n]", pending)
        for line in complete:
            if line.strip():
                yield line.decode("utf-8", "replace")
    if pending.strip():
        yield pending.decode("utf-8", "replace")


def _run(cmd: list[str], log_path: Path, cwd: Path | None, on_line) -> tuple[int, list[str]]:
    """Run ``cmd``, feeding each output line to ``on_line``; returns (exit code, last lines)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    tail: deque[str] = deque(maxlen=40)
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            for line in _lines(proc.stdout):
                log.write(line + "\n")
                tail.append(line)
                on_line(line)
        finally:
            proc.stdout.close()
            code = proc.wait()
    return code, list(tail)


def _failure(tail: list[str]) -> str:
    """The most telling line of a failed run (its last error line, else its last line),
    without a Python exception's type name in front."""
    found = next((line for line in reversed(tail) if re.search(r"error|exception|failed", line, re.IGNORECASE)),
                 tail[-1] if tail else "it stopped without a message")
    reason = re.sub(r"^([\w.]*(Error|Exception))(:\s*|$)", "", found.strip())
    return reason or found.strip()


def hf_to_gguf(llm_dir: Path, out: Path, outtype: str, n_tensors: int = 0,
               progress: ProgressCallback = no_progress, extra_args: tuple[str, ...] = ()) -> None:
    """Run llama.cpp's ``convert_hf_to_gguf.py`` on an LLM-only folder, writing ``out``.

    Args:
        llm_dir: the folder written by :func:`convert.llm_folder.write_llm_folder`, or a published
            folder llama.cpp converts as it is (Gemma 3, :mod:`convert.slice_set`).
        out: the GGUF file to write (written directly: the caller gives a temporary name).
        outtype: ``"f32"`` or ``"f16"``.
        n_tensors: how many tensors the folder has (for progress; 0 if unknown).
        extra_args: more converter options, e.g. ``("--mmproj",)`` for a vision model's projector.

    Raises:
        ConversionError: the converter is unavailable or failed (its log is beside ``out``).
    """
    if outtype not in CONVERTER_TYPES:
        raise ValueError(f"outtype is one of {CONVERTER_TYPES}, not {outtype!r}")
    check_converter_requirements()
    script_dir = converter_dir(progress)
    cmd = [sys.executable, str(script_dir / CONVERTER_SCRIPT), str(llm_dir),
           "--outfile", str(out), "--outtype", outtype, *extra_args]
    planned = 0

    def on_line(line: str) -> None:
        nonlocal planned
        if m := _TENSOR_LINE.match(line):
            planned += 1
            progress(Progress(GGUF, planned, max(n_tensors, planned), "tensors", m.group(1)))
        elif m := _WRITING.match(line):
            progress(Progress(GGUF, int(m.group(1)), 100, "percent", f"writing {out.name}"))

    log_path = _log_path(out)
    code, tail = _run(cmd, log_path, script_dir, on_line)
    if code != 0 or not out.is_file():
        raise ConversionError(f"llama.cpp's converter could not convert {llm_dir}: {_failure(tail)} "
                              f"(full log: {log_path})")


def quantize(source: Path, out: Path, qtype: str, n_threads: int | None = None,
             progress: ProgressCallback = no_progress) -> None:
    """Quantise a GGUF with llama.cpp's ``llama_model_quantize``, writing ``out``.

    Args:
        qtype: a key of :data:`QUANT_FTYPES` (``"f16"``, ``"q8_0"``, ``"q4_k_m"``). For the
            k-quants a tensor whose rows are not a multiple of 256 falls back to a 32-block
            type (llama.cpp's rule, e.g. q4_K -> q5_0); the log says which.

    Raises:
        ConversionError: the type is unknown or llama.cpp failed (its log is beside ``out``).
    """
    if qtype not in QUANT_FTYPES:
        raise ConversionError(f"unknown quantisation {qtype!r}: choose one of {', '.join(QUANT_FTYPES)}")
    threads = n_threads or max(1, os.cpu_count() or 1)
    cmd = [sys.executable, "-m", "convert.quantize_worker", str(source), str(out),
           str(QUANT_FTYPES[qtype]), str(threads)]

    def on_line(line: str) -> None:
        if m := _QUANT_LINE.match(line):
            progress(Progress(QUANTIZE, int(m.group(1)), int(m.group(2)), "tensors", m.group(3)))

    log_path = _log_path(out)
    code, tail = _run(cmd, log_path, None, on_line)
    if code != 0 or not out.is_file():
        raise ConversionError(f"llama.cpp could not quantise {source.name} to {qtype}: {_failure(tail)} "
                              f"(full log: {log_path})")


def _log_path(out: Path) -> Path:
    name = out.name.removesuffix(".partial")
    return out.with_name(name + ".log")
