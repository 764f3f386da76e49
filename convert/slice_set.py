"""A published 2D vision model -> a slice-set bundle (llama.cpp text GGUF + ``mmproj`` projector).

Two kinds of source folder:

- a Gemma 3 folder as published on Hugging Face (MedGemma 1.5: ``config.json`` with
  ``Gemma3ForConditionalGeneration``, safetensors, tokenizer): llama.cpp's own converter writes
  the text model (f16, or f32 for ``--quant f32``, then quantised) and the projector (f16), in
  restartable steps under ``<BUNDLE>.work/`` (removed when the bundle is complete);
- a published GGUF pair (a text model and its ``mmproj`` projector): nothing is converted; the
  two files are hard-linked (else copied) into the bundle.

Either way the pair is checked (whole files, projector width = text width), the bundle is
written under a temporary name with its manifest last, loaded back with every hash checked,
and only then renamed to ``BUNDLE``: a folder with a manifest is always complete.

Example::

    from convert.slice_set import convert_slice_set
    convert_slice_set("medgemma-1.5-4b-it", "bundles/medgemma-1.5", quant="q4_k_m", progress=print)
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from inference.bundle import BundleError, load_bundle, write_manifest
from inference.llm.gguf_header import read_gguf_header
from inference.slices.bundle import check_pair

from . import steps
from .bundle_out import BUNDLE, QUANTS
from .errors import ConversionError
from .llama_cpp_sources import llama_cpp_version
from .llama_cpp_steps import hf_to_gguf, quantize
from .llm_gguf import file_step
from .progress import GGUF, QUANTIZE, Progress, ProgressCallback, no_progress
from .slice_set_manifest import SliceSetFacts, file_type_name, manifest_for

SOURCE_HASHES = "source_hashes"  # the progress step of hashing the source files
HF_ARCHITECTURE = "Gemma3ForConditionalGeneration"
LLM_FILE, PROJECTOR_FILE = "model.gguf", "mmproj.gguf"
WRITER_VERSION = 1  # bump when the converter's steps change: earlier outputs are redone
# the files of a Hugging Face folder llama.cpp's converter reads (besides the safetensors)
HF_FILES = ("config.json", "model.safetensors.index.json", "tokenizer.model", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "chat_template.jinja",
            "chat_template.json", "generation_config.json", "preprocessor_config.json", "processor_config.json")


@dataclass(frozen=True)
class _Pair:
    """The two GGUFs a bundle is made of, with what the manifest says of their origin."""

    text: Path
    projector: Path
    text_sha256: str
    projector_sha256: str
    llm_type: str
    source_format: str
    source_files: dict[str, str]


def _hf_architecture(folder: Path) -> str:
    """``architectures[0]`` of the folder's config.json ("" when there is none or it is unreadable)."""
    try:
        config = json.loads((folder / "config.json").read_text())
        return str((config.get("architectures") or [""])[0])
    except (OSError, ValueError, AttributeError, TypeError):
        return ""


def is_slice_set_source(folder: str | Path) -> bool:
    """Whether ``folder`` is for :func:`convert_slice_set`: a Gemma 3 (MedGemma) folder, or a
    folder of GGUF files (a published pair; one without its projector is refused there, with
    the reason, rather than sent to the 3D converter)."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    return _hf_architecture(folder) == HF_ARCHITECTURE or any(folder.glob("*.gguf"))


def convert_slice_set(source: str | Path, out: str | Path, quant: str = "q4_k_m",
                      work_dir: str | Path | None = None, progress: ProgressCallback = no_progress) -> Path:
    """Make the slice-set bundle ``out`` from a published folder (see the module docstring).

    Args:
        quant: the text GGUF's type when converting, one of :data:`QUANTS`; a published pair
            is used as published, whatever its type.
        work_dir: where the conversion steps work (default ``<out>.work``, removed at the end).

    Raises:
        ConversionError: a folder that is neither kind, a GGUF without its projector, a projector
            of another model, a cut-short file, a failed llama.cpp step, or ``out`` exists and is
            not a bundle (one sentence each).
    """
    if quant not in QUANTS:
        raise ConversionError(f"--quant is one of {', '.join(QUANTS)}, not {quant!r}")
    folder, out = Path(source), Path(out)
    if not folder.is_dir():
        raise ConversionError(f"{folder} is not a folder: give the downloaded model folder")
    if out.exists() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise ConversionError(f"{out} exists and is not a bundle: choose an empty or new folder")
    work = Path(work_dir) if work_dir else out.with_name(out.name + ".work")
    if _hf_architecture(folder) == HF_ARCHITECTURE:
        pair = _convert_gemma3(folder, work, quant, progress)
    elif any(folder.glob("*.gguf")):
        pair = _published_pair(folder, quant, progress)
    else:
        raise ConversionError(f"{folder} is neither a Gemma 3 model folder (config.json with {HF_ARCHITECTURE} "
                              "and safetensors) nor a llama.cpp vision model (a GGUF with its mmproj GGUF)")
    _write_bundle(folder, pair, out, progress)
    if work_dir is None and pair.source_format == "safetensors":
        steps.discard(work)
    return out


# --- a Gemma 3 folder: llama.cpp's converter and quantiser -----------------------------------

def _hf_inputs(folder: Path) -> list[Path]:
    """The source files the conversion reads; refuses a folder without (all of) its weights."""
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise ConversionError(f"{folder} holds a Gemma 3 config.json but no model weights (*.safetensors): "
                              "download the whole model folder")
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            listed = set(json.loads(index.read_text())["weight_map"].values())
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ConversionError(f"{index} cannot be read: download it again") from None
        missing = sorted(listed - {w.name for w in weights})
        if missing:
            raise ConversionError(f"{folder} is incomplete: model.safetensors.index.json lists {', '.join(missing)}, "
                                  "which it does not hold; finish the download")
    return weights + [folder / n for n in HF_FILES if (folder / n).is_file()]


def _step(out: Path, step: str, inputs: dict, progress: ProgressCallback, write: Callable[[Path], None]) -> dict:
    """The marker of ``out``: skipped when an earlier run finished it for these inputs, else
    written by :func:`~convert.llm_gguf.file_step`."""
    record = steps.finished(out, inputs)
    if record is not None:
        progress(Progress(step, message=str(out), state="skipped"))
        return record
    return file_step(out, step, inputs, progress, write)


def _source_hashes(folder: Path, files: list[Path], work: Path, progress: ProgressCallback) -> dict[str, str]:
    """``{name: SHA-256}`` of the source files, kept in the work folder so that a rerun does not
    hash gigabytes of safetensors again."""
    out = work / "source-sha256.json"

    def write(tmp: Path) -> None:
        hashes = {}
        for n, path in enumerate(files):
            progress(Progress(SOURCE_HASHES, n, len(files), "files", path.name))
            hashes[path.name] = steps.sha256_file(path)
        tmp.write_text(json.dumps(hashes, indent=1, sort_keys=True))

    _step(out, SOURCE_HASHES, {"files": steps.file_stamps(files, root=folder)}, progress, write)
    return json.loads(out.read_text())


def _convert_gemma3(folder: Path, work: Path, quant: str, progress: ProgressCallback) -> _Pair:
    """The text GGUF (``quant``) and the f16 projector, each step skipped when already done."""
    files = _hf_inputs(folder)
    work.mkdir(parents=True, exist_ok=True)
    source_files = _source_hashes(folder, files, work, progress)
    source = {"files": steps.file_stamps(files, root=folder), "llama_cpp": llama_cpp_version(),
              "writer": WRITER_VERSION}
    base_type = "f32" if quant == "f32" else "f16"
    base, projector = work / f"text-{base_type}.gguf", work / "mmproj-f16.gguf"
    base_inputs = {**source, "outtype": base_type}
    base_record = _step(base, GGUF, base_inputs, progress,
                        lambda tmp: hf_to_gguf(folder, tmp, base_type, progress=progress))
    projector_record = _step(projector, GGUF, {**source, "outtype": "f16", "mmproj": True}, progress,
                             lambda tmp: hf_to_gguf(folder, tmp, "f16", progress=progress, extra_args=("--mmproj",)))
    text, text_record = base, base_record
    if quant != base_type:
        text = work / f"text-{quant}.gguf"
        text_record = _step(text, QUANTIZE, {"base": base_inputs, "qtype": quant}, progress,
                            lambda tmp: quantize(base, tmp, quant, progress=progress))
    return _Pair(text, projector, text_record["output"][text.name]["sha256"],
                 projector_record["output"][projector.name]["sha256"], quant, "safetensors", source_files)


# --- a published GGUF pair: used as it is -----------------------------------------------------

def _find_pair(folder: Path, quant: str) -> tuple[Path, Path]:
    """The text GGUF and the projector GGUF of a folder of published GGUFs."""
    texts, projectors = [], []
    for path in sorted(folder.glob("*.gguf")):
        if "mmproj" in path.name.lower():  # by name: a cut-short projector is still told apart
            projectors.append(path)
            continue
        try:
            header = read_gguf_header(path)
        except ValueError as exc:
            raise ConversionError(str(exc)) from None
        (projectors if header.is_projector else texts).append(path)
    if not texts:
        raise ConversionError(f"{folder} holds a vision projector ({projectors[0].name}) but no language model "
                              "GGUF: download the model GGUF published beside it")
    if not projectors:
        raise ConversionError(f"{folder} holds a language model ({texts[0].name}) but no vision projector "
                              "(mmproj-*.gguf): download the mmproj file published beside it")
    if len(texts) > 1:  # several quantisations of one model: the one --quant names
        chosen = [t for t in texts if _readable_type(t) == quant]
        if len(chosen) != 1:
            raise ConversionError(f"{folder} holds several language models ({', '.join(t.name for t in texts)}): "
                                  "keep only the one to use in the folder")
        texts = chosen
    if len(projectors) > 1:
        raise ConversionError(f"{folder} holds several vision projectors ({', '.join(p.name for p in projectors)}): "
                              "keep only the one published for this model")
    return texts[0], projectors[0]


def _readable_type(path: Path) -> str:
    try:
        return file_type_name(read_gguf_header(path))
    except ValueError:
        return ""


def _published_pair(folder: Path, quant: str, progress: ProgressCallback) -> _Pair:
    text, projector = _find_pair(folder, quant)
    text_header, _ = _checked_pair(text, projector)
    files = (text, projector)
    hashes = {}
    for n, path in enumerate(files):
        progress(Progress(SOURCE_HASHES, n, len(files), "files", path.name))
        hashes[path.name] = steps.sha256_file(path)
    progress(Progress(SOURCE_HASHES, len(files), len(files), "files",
                      f"{text.name} is used as published ({file_type_name(text_header)})", "finished"))
    return _Pair(text, projector, hashes[text.name], hashes[projector.name], file_type_name(text_header), "gguf",
                 hashes)


# --- the bundle ------------------------------------------------------------------------------

def _checked_pair(text: Path, projector: Path):
    """check_pair's headers, its refusal as a ConversionError (one sentence)."""
    try:
        return check_pair(text, projector)
    except BundleError as exc:
        raise ConversionError(str(exc)) from None


def _place(src: Path, dst: Path) -> None:
    """Hard-link ``src`` at ``dst`` (same disk: no second copy of gigabytes), else copy it."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _write_bundle(folder: Path, pair: _Pair, out: Path, progress: ProgressCallback) -> None:
    """Place the two GGUFs, write the manifest last, load the result back, then rename it to ``out``."""
    text_header, projector_header = _checked_pair(pair.text, pair.projector)
    progress(Progress(BUNDLE, 0, 3, "files", f"writing {out}"))
    tmp = steps.partial_path(out)  # an earlier bundle stays until this one is complete
    steps.discard(tmp)
    tmp.mkdir(parents=True)
    try:
        _place(pair.text, tmp / LLM_FILE)
        _place(pair.projector, tmp / PROJECTOR_FILE)
        facts = SliceSetFacts(folder, pair.source_format, pair.source_files, text_header, projector_header,
                              pair.llm_type, pair.text_sha256, pair.projector_sha256)
        write_manifest(tmp, manifest_for(facts, LLM_FILE, PROJECTOR_FILE), files=[])
        try:
            load_bundle(tmp, verify_llm=True)  # every hash, the pair and the recipe read back
        except BundleError as exc:
            raise ConversionError(f"the bundle written from {folder.name} does not load: {exc}") from None
    except BaseException:
        steps.discard(tmp)
        raise
    steps.discard(out)
    tmp.rename(out)
    progress(Progress(BUNDLE, 3, 3, "files", str(out), "finished"))
