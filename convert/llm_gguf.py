"""The LLM of a published checkpoint -> llama.cpp GGUF files, restartably.

Steps, each skipped on a rerun when its output is already complete for the same inputs
(see :mod:`convert.steps`):

1. ``llm-hf/``: the LLM-only Hugging Face folder (:mod:`convert.llm_folder`);
2. ``llm-<f32|f16>.gguf``: llama.cpp's ``convert_hf_to_gguf.py`` on that folder;
3. ``llm-<qtype>.gguf``: llama.cpp's quantiser, once per requested type.

Example::

    from convert.llm_gguf import convert_llm
    result = convert_llm("M3D-LaMed-Phi-3-4B", "work/", quantizations=("q4_k_m",),
                         progress=print)
    result.ggufs["q4_k_m"]      # Path of the quantised GGUF
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import steps
from .errors import ConversionError
from .llama_cpp_sources import llama_cpp_version
from .llama_cpp_steps import CONVERTER_TYPES, QUANT_FTYPES, hf_to_gguf, quantize
from .llm_folder import write_llm_folder
from .llm_layouts import LLMSource, find_llm
from .progress import GGUF, LLM_FOLDER, QUANTIZE, Progress, ProgressCallback, no_progress

WRITER_VERSION = 1  # bump when the LLM folder we write changes: earlier outputs are redone


@dataclass(frozen=True)
class LLMConversion:
    """What :func:`convert_llm` produced.

    Attributes:
        source: the recognised checkpoint (layout, family, files).
        base_type: ``"f32"`` or ``"f16"``, the type of the unquantised GGUF.
        ggufs: type -> GGUF path, the base type and every requested quantisation.
        sha256: GGUF path -> its SHA-256 (from the step markers).
        llm_folder: the LLM-only HF folder, or None when it was removed after use.
        summary: tensors kept, tensors dropped by prefix, embedding rows (empty when the
            folder step was skipped and its marker did not record them).
    """

    source: LLMSource
    base_type: str
    ggufs: dict[str, Path]
    sha256: dict[Path, str]
    llm_folder: Path | None
    summary: dict = field(default_factory=dict)


def convert_llm(
    checkpoint: str | Path,
    work_dir: str | Path,
    quantizations: tuple[str, ...] = ("q4_k_m",),
    base_type: str = "f16",
    tokenizer_dir: str | Path | None = None,
    keep_llm_folder: bool = False,
    n_threads: int | None = None,
    progress: ProgressCallback = no_progress,
) -> LLMConversion:
    """Convert the LLM of a published checkpoint into GGUF files under ``work_dir``.

    Args:
        checkpoint: the published folder (M3D-LaMed, Med-2E3 or Med3DVLM); never modified.
        work_dir: where the outputs go (created if needed); rerunning with the same
            arguments skips every finished step.
        quantizations: types from :data:`~convert.llama_cpp_steps.QUANT_FTYPES`.
        base_type: ``"f16"`` (half the disk) or ``"f32"`` (exact; what the parity tests use).
        tokenizer_dir: a tokenizer folder for checkpoints that ship none (Med-2E3).
        keep_llm_folder: keep ``llm-hf/`` after the GGUF is written (it is as large as the
            source LLM).
        n_threads: quantiser threads (default: all cores).
        progress: called with :class:`~convert.progress.Progress` events.

    Raises:
        ConversionError: an unknown layout, missing files, or a failed llama.cpp step.
    """
    if base_type not in CONVERTER_TYPES:
        raise ConversionError(f"the unquantised GGUF is f32 or f16, not {base_type!r}")
    unknown = [q for q in quantizations if q not in QUANT_FTYPES]
    if unknown:
        raise ConversionError(f"unknown quantisation {', '.join(unknown)}: choose among {', '.join(QUANT_FTYPES)}")
    source = find_llm(checkpoint, tokenizer_dir)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    llm_dir, base = work / "llm-hf", work / f"llm-{base_type}.gguf"
    folder_inputs = {"files": steps.file_stamps(source.input_files()), "layout": source.layout,
                     "family": source.family, "writer": WRITER_VERSION}
    base_inputs = {"llm": folder_inputs, "outtype": base_type, "llama_cpp": llama_cpp_version()}
    ggufs, sha = {base_type: base}, {}
    summary: dict = {}

    base_record = steps.finished(base, base_inputs)
    if base_record is None:
        summary = _llm_folder_step(source, llm_dir, folder_inputs, progress)
        base_record = file_step(base, GGUF, base_inputs, progress, lambda tmp: hf_to_gguf(
            llm_dir, tmp, base_type, summary.get("tensors", 0), progress))
    else:
        progress(Progress(GGUF, message=str(base), state="skipped"))
    sha[base] = base_record["output"][base.name]["sha256"]

    for qtype in quantizations:
        if qtype == base_type:
            continue
        out = work / f"llm-{qtype}.gguf"
        inputs = {"base": base_inputs, "qtype": qtype}
        record = steps.finished(out, inputs)
        if record is None:
            record = file_step(out, QUANTIZE, inputs, progress,
                                lambda tmp, q=qtype: quantize(base, tmp, q, n_threads, progress))
        else:
            progress(Progress(QUANTIZE, message=str(out), state="skipped"))
        ggufs[qtype], sha[out] = out, record["output"][out.name]["sha256"]

    if not keep_llm_folder:
        steps.discard(llm_dir)
        steps.discard(steps.marker_path(llm_dir))
    return LLMConversion(source, base_type, ggufs, sha, llm_dir if llm_dir.exists() else None, summary)


def file_step(out: Path, step: str, inputs: dict, progress: ProgressCallback,
               write: Callable[[Path], None]) -> dict:
    """Write ``out`` under its temporary name with ``write(tmp)``, then rename and mark it."""
    tmp = steps.start(out)
    try:
        write(tmp)
    except BaseException:
        steps.discard(tmp)
        raise
    record = steps.commit(tmp, out, step, inputs)
    progress(Progress(step, message=str(out), state="finished"))
    return record


def _llm_folder_step(source: LLMSource, llm_dir: Path, inputs: dict, progress: ProgressCallback) -> dict:
    record = steps.finished(llm_dir, inputs)
    if record is not None:
        progress(Progress(LLM_FOLDER, message=str(llm_dir), state="skipped"))
        return record.get("summary", {})
    tmp = steps.start(llm_dir)
    try:
        summary = write_llm_folder(source, tmp, progress)
    except BaseException:
        steps.discard(tmp)
        raise
    record = steps.commit(tmp, llm_dir, LLM_FOLDER, inputs)
    steps.annotate(llm_dir, summary=summary)
    progress(Progress(LLM_FOLDER, summary.get("tensors", 0), summary.get("tensors", 0), "tensors",
                      str(llm_dir), state="finished"))
    return summary
