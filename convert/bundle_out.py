"""A published checkpoint folder -> a ctchat bundle, in restartable steps.

1. the LLM as GGUF (:func:`convert.llm_gguf.convert_llm`: llama.cpp's converter and quantiser);
2. the vision side as ONNX graphs (:func:`convert.vision_side.convert_vision`);
3. the bundle: graphs and GGUF linked (or copied) into ``BUNDLE``, the manifest written last,
   so a folder with a manifest is always complete.

Steps 1 and 2 work in ``<BUNDLE>.work/`` (or ``work_dir``) and are skipped on a rerun that finds
them finished for the same source files; the source folder is only read.

Example::

    from convert.bundle_out import convert_checkpoint
    convert_checkpoint("M3D-LaMed-Phi-3-4B", "bundles/m3d-lamed-phi3", quant="q4_k_m", progress=print)
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from inference.bundle import TrainedScope, load_bundle, write_manifest
from inference.preprocess import RECIPES, PreprocessRecipe

from . import steps
from .errors import ConversionError
from .llm_gguf import convert_llm
from .llm_layouts import M3D_LAMED, MED2E3, MED3DVLM, LLMSource, find_llm
from .llm_prompt import LLMFacts, read_facts
from .progress import Progress, ProgressCallback, no_progress
from .prompt_format import PUBLISHED_TASKS, published_prompt_format
from .vision_side import TGIS_TOKENIZER, VisionGraphs, convert_vision

BUNDLE = "bundle"  # the progress step
QUANTS = ("f32", "f16", "q8_0", "q4_k_m")  # f32: exact, for checks; the others for use


@dataclass(frozen=True)
class ModelFacts:
    """What the app tells its user about a published model (docs/published-models-*.md)."""

    title: str
    trained_on: str
    tasks: str


MODELS = {
    M3D_LAMED: ModelFacts(
        "M3D-LaMed (Bai et al., 2024)",
        "M3D-Data: M3D-Cap (about 120k CT image-text pairs from Radiopaedia) and M3D-VQA "
        "(open and multiple-choice questions generated from those captions)",
        "captions of findings, open questions, multiple-choice questions"),
    MED2E3: ModelFacts(
        "Med-2E3 (Shi et al., 2025)",
        "M3D-Cap and M3D-VQA (the M3D-Data CT image-text pairs), starting from M3D-CLIP and Phi-3",
        "captions of findings, open questions, multiple-choice questions"),
    MED3DVLM: ModelFacts(
        "Med3DVLM (Xin et al., 2025)",
        "M3D-Cap and M3D-VQA (the M3D-Data CT image-text pairs), starting from Qwen2.5-7B-Instruct",
        "captions of findings, open questions, multiple-choice questions"),
}
CANNOT_VERIFY = (
    "Converted on this machine from files we never checked against the authors' real weights: "
    "the converter's parity tests use random weights in the published layout. Preprocessing follows "
    "the authors' code as closely as a CT in Hounsfield units allows (their training data were 8-bit "
    "PNG slices, min-max normalised). Not a medical device; not for diagnosis."
)


# What M3D-Data teaches (Med-2E3 paper, sec. 4.1): M3D-Cap captions and M3D-VQA's open and
# multiple-choice questions on five topics, over CT of various organs and body parts.
M3D_DATA_SCOPE = TrainedScope(
    declared=True,
    tasks=tuple(PUBLISHED_TASKS),
    question_kinds=(
        "a findings caption of the scan (M3D-Cap: 115K CT image-caption pairs from Radiopaedia)",
        "open and multiple-choice questions of M3D-VQA on five topics: plane, phase, organ, abnormality, location",
    ),
    findings=("the organs and lesions of Radiopaedia's cases (many diseases; no fixed list)",),
    body_region="various body parts (M3D-Data: CT of many organs and body regions)",
    limits=("M3D-VQA has no yes/no disease task: this model is not asked CT-RATE's yes/no questions.",),
)


def source_licence(folder: Path) -> str:
    """The licence the source folder states: its model card's ``license:`` line, else the first
    line of a LICENSE file, else a sentence saying it states none."""
    card = folder / "README.md"
    if card.is_file():
        match = re.search(r"^license:\s*(\S.*)$", card.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
        if match:
            return f"{match.group(1).strip()} (from the source's model card)"
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
        if (folder / name).is_file():
            first = next((ln.strip() for ln in (folder / name).read_text(errors="replace").splitlines() if ln.strip()), "")
            return f"{first} (from the source's {name})"
    return "not stated in the source folder: see the authors' model page before any use"


def input_recipe(graphs: VisionGraphs) -> PreprocessRecipe:
    """M3D's recipe (crop to the body, resize, [0, 1]) onto the graph's own volume shape."""
    base = RECIPES["m3d"].to_dict()
    base.update(name=f"m3d_{graphs.input_shape[0]}", target_shape_zyx=list(graphs.input_shape))
    return PreprocessRecipe.from_dict(base)


def scope_input(graphs: VisionGraphs) -> str:
    """What the model was trained on as input, and what this bundle feeds it."""
    recipe = input_recipe(graphs)
    lo, hi = recipe.hu_window
    return (f"CT as 8-bit PNG slices, min-max normalised, resized to {' x '.join(map(str, graphs.input_shape))} "
            f"(the authors' training data); this bundle feeds HU [{lo:g}, {hi:g}] scaled to [0, 1]")


def manifest_for(source: LLMSource, facts: LLMFacts, graphs: VisionGraphs, gguf: str, gguf_sha: str,
                 quant: str) -> dict:
    """The bundle's manifest (its ``files`` are added by :func:`~inference.bundle.write_manifest`)."""
    model = MODELS[source.layout]
    vision = {"source": source.layout, "scan_graph": "scan.onnx"}
    if graphs.has_tgis:
        vision.update(question_graph="question.onnx",
                      question_text={"kind": "tokenizer", "file": TGIS_TOKENIZER, "max_length": graphs.question_length})
    attention = "TG-IS slice attention" if graphs.has_tgis else "no slice attention (no TG-IS in this model)"
    return {
        "name": re.sub(r"[^a-z0-9.]+", "-", source.folder.name.lower()).strip("-") or source.layout,
        "version": f"converted-{quant}",
        "licence": source_licence(source.folder),
        "intended_use": f"Research use of {model.title}, as its authors published it. {CANNOT_VERIFY}",
        "notice": f"{model.title}, converted ({quant}); trained on M3D-Cap and M3D-VQA; "
                  f"{attention}: not a medical device, not for diagnosis",
        "training": {"trained": True, "published_model": model.title, "trained_on": model.trained_on,
                     "answers": model.tasks, "cannot_verify": CANNOT_VERIFY},
        "trained_scope": dataclasses.replace(M3D_DATA_SCOPE, input=scope_input(graphs)).to_dict(),
        "vision": vision,
        "input_recipe": input_recipe(graphs).to_dict(),
        "token_layout": {"n_tokens_3d": graphs.n_tokens_3d, "n_tokens_2d": graphs.n_tokens_2d,
                         "n_model_slices": graphs.input_shape[0], "hidden": facts.n_embd,
                         **({"grid_3d": list(graphs.grid_3d)} if graphs.grid_3d else {})},
        "prompt_format": published_prompt_format(facts).to_dict(),
        "llm": {"file": gguf, "sha256": gguf_sha, "family": facts.family, "quantization": quant,
                "facts": facts.to_dict()},
    }


def _place(src: Path, dst: Path) -> None:
    """Hard-link ``src`` at ``dst`` (same disk: no second copy), else copy it."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def convert_checkpoint(source_dir: str | Path, out: str | Path, quant: str = "q4_k_m",
                       tokenizer_dir: str | Path | None = None, text_encoder: str | Path | None = None,
                       work_dir: str | Path | None = None, progress: ProgressCallback = no_progress) -> Path:
    """Convert a published checkpoint folder into the bundle folder ``out``; a 2D vision model
    (MedGemma, a llama.cpp GGUF pair) goes to :func:`convert.slice_set.convert_slice_set`.

    Args:
        quant: the GGUF type, one of :data:`QUANTS`.
        tokenizer_dir: the LLM tokenizer's folder, for a checkpoint that ships none (Med-2E3).
        text_encoder: Med-2E3's M3D-CLIP folder (the BERT tokenizer of its TG-IS question).
        work_dir: where the restartable steps work (default ``<out>.work``, removed at the end).

    Raises:
        ConversionError: an unknown layout, missing or inconsistent files, a failed step, or
            ``out`` exists and is not a bundle this converter wrote.
    """
    if quant not in QUANTS:
        raise ConversionError(f"--quant is one of {', '.join(QUANTS)}, not {quant!r}")
    from .slice_set import convert_slice_set, is_slice_set_source  # it imports this module

    if is_slice_set_source(source_dir):  # a 2D vision model (MedGemma): a slice-set bundle
        if tokenizer_dir or text_encoder:
            raise ConversionError("--tokenizer and --text-encoder are for the 3D models; "
                                  f"{Path(source_dir).name} brings its own tokenizer: leave them out")
        return convert_slice_set(source_dir, out, quant, work_dir=work_dir, progress=progress)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise ConversionError(f"{out} exists and is not a bundle: choose an empty or new folder")
    source = find_llm(source_dir, tokenizer_dir)
    work = Path(work_dir) if work_dir else out.with_name(out.name + ".work")
    base = "f32" if quant == "f32" else "f16"
    llm = convert_llm(source.folder, work, quantizations=() if quant == base else (quant,), base_type=base,
                      tokenizer_dir=tokenizer_dir, progress=progress)
    gguf = llm.ggufs[quant]
    graphs = convert_vision(source, work, text_encoder, progress)
    facts = read_facts(source, gguf)
    progress(Progress(BUNDLE, 0, len(graphs.files) + 1, "files", f"writing {out}"))
    tmp = steps.partial_path(out)  # an earlier bundle stays until this one is complete
    steps.discard(tmp)
    tmp.mkdir(parents=True)
    for name in graphs.files:
        _place(graphs.folder / name, tmp / name)
    gguf_name = f"llm-{quant}.gguf"
    _place(gguf, tmp / gguf_name)
    manifest = manifest_for(source, facts, graphs, gguf_name, llm.sha256[gguf], quant)
    write_manifest(tmp, manifest, list(graphs.files))
    steps.discard(out)
    tmp.rename(out)
    load_bundle(out)  # reads back what was written: hashes, layout and prompt format
    if work_dir is None:
        steps.discard(work)
    progress(Progress(BUNDLE, len(graphs.files) + 1, len(graphs.files) + 1, "files", str(out), "finished"))
    return out
