"""The vision side of a published checkpoint -> the bundle's ONNX graphs, restartably.

Per layout (:mod:`convert.llm_layouts` recognises the folder): the tower is built at the sizes
its tensors have (:mod:`convert.vision_weights`), the published state dicts load strictly, and
the graphs are exported (:mod:`convert.towers.graphs`): a scan graph (``volume`` ->
``image_tokens_3d``; Med-2E3 also ``slice_tokens_2d`` and ``slice_features``) and, for Med-2E3
only, its TG-IS question graph with its BERT tokenizer. The graphs go to ``<work>/vision`` and
are marked done, so a rerun skips the export.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from . import steps
from .errors import ConversionError
from .llm_layouts import M3D_LAMED, MED2E3, MED3DVLM, LLMSource
from .progress import Progress, ProgressCallback, no_progress
from .vision_weights import dcformer_sizes, m3d_vit_sizes, read_safetensors, read_torch_bin

VISION = "vision"  # the progress step
WRITER_VERSION = 1  # bump when the graphs written change: earlier exports are redone
TGIS_TOKENIZER = "tgis_tokenizer.json"
MED2E3_FILES = ("vision3d_model", "vision3d_connector", "vision2d_model", "vision2d_connector")


@dataclass(frozen=True)
class VisionGraphs:
    """What :func:`convert_vision` wrote.

    Attributes:
        folder: the folder of the graphs (and their external weight files).
        files: every file of it, relative names.
        input_shape: the volume the scan graph takes, (D, H, W).
        n_tokens_3d, n_tokens_2d: image tokens from the scan, and per question (0: no TG-IS).
        question_length: tokens of the TG-IS question (its BERT tokenizer's), None without TG-IS.
        grid_3d: the grid the 3D tokens are laid out in, depth first (what occlusion relevance
            removes a depth row of); empty when the projector mixes tokens (Med3DVLM).
    """

    folder: Path
    files: tuple[str, ...]
    input_shape: tuple[int, int, int]
    n_tokens_3d: int
    n_tokens_2d: int
    question_length: int | None
    grid_3d: tuple[int, ...] = ()  # the 3D tokens' (depth, rows, columns) grid, depth first; empty: mixed (Med3DVLM)

    @property
    def has_tgis(self) -> bool:
        return self.question_length is not None


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConversionError(f"{path} cannot be read as JSON ({exc})") from exc


def _vision_inputs(source: LLMSource, text_encoder: Path | None) -> list[Path]:
    if source.layout == MED2E3:
        files = [source.folder / part / name for part in MED2E3_FILES for name in ("pytorch_model.bin", "config.json")]
        files = [p for p in files if p.is_file()]
        if text_encoder is not None:
            files += sorted(p for p in text_encoder.iterdir()
                            if p.is_file() and ("tokenizer" in p.name or p.name == "vocab.txt"))
        return files
    extra = [source.folder / "vision_tower.bin"] if (source.folder / "vision_tower.bin").is_file() else []
    return [source.config, *source.weights, *extra]


def _lamed(source: LLMSource):
    from .towers.lamed import PROJECTOR_PREFIX, VIT_PREFIX, build_lamed_vision
    from .towers.m3d_vit import M3DViTConfig

    config = _json(source.config)
    tensors = read_safetensors(source.weights, (VIT_PREFIX, PROJECTOR_PREFIX))
    base = M3DViTConfig.from_lamed(config)
    vit = M3DViTConfig(in_channels=base.in_channels, img_size=base.img_size, patch_size=base.patch_size,
                       **m3d_vit_sizes(tensors, VIT_PREFIX))
    vision = build_lamed_vision(config, vit)
    vision.load_published(tensors)
    return vision, vit.img_size, vision.mm_projector.n_tokens


def _med3dvlm(source: LLMSource):
    from .towers.dcformer import DCFormerConfig
    from .towers.med3dvlm import PROJECTOR_PREFIX, VISION_BIN_PREFIX, VISION_PREFIX, build_med3dvlm_vision

    config = _json(source.config)
    tensors = read_safetensors(source.weights, (VISION_PREFIX, PROJECTOR_PREFIX))
    bin_path = source.folder / "vision_tower.bin"
    separate = read_torch_bin(bin_path) if not any(k.startswith(VISION_PREFIX) for k in tensors) else None
    sizes = dcformer_sizes(separate, VISION_BIN_PREFIX + "encoder.") if separate is not None else \
        dcformer_sizes(tensors, VISION_PREFIX + "encoder.")
    vision = build_med3dvlm_vision(config, DCFormerConfig(**sizes))
    vision.load_published(tensors, vision_state_dict=separate)
    return vision, vision.input_shape, vision.mm_projector.n_tokens


def _med2e3(source: LLMSource, text_encoder: Path | None):
    from .towers.bert_text import bert_config_from_weights
    from .towers.med2e3 import build_med2e3_vision

    parts = {name: read_torch_bin(source.folder / name / "pytorch_model.bin") for name in MED2E3_FILES}
    llm_hidden = int(_json(source.config)["hidden_size"])
    vision = build_med2e3_vision(_json(source.folder / "vision3d_model" / "config.json"),
                                 _json(source.folder / "vision2d_model" / "config.json"),
                                 bert_config_from_weights(parts["vision3d_model"]), llm_hidden)
    vision.load_published(parts)
    if text_encoder is None:
        raise ConversionError("Med-2E3 scores slices against its M3D-CLIP BERT's reading of the question, and "
                              "the checkpoint does not hold that tokenizer: give the folder of your local copy of "
                              "GoodBaiBai88/M3D-CLIP with --text-encoder DIR")
    return vision, vision.vision3d.cfg.img_size


def _write_bert_tokenizer(text_encoder: Path, out: Path) -> None:
    """M3D-CLIP's BERT tokenizer (its ``vocab.txt`` or ``tokenizer.json``) as one tokenizer.json."""
    from transformers import BertTokenizerFast

    try:
        tokenizer = BertTokenizerFast.from_pretrained(str(text_encoder), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConversionError(f"{text_encoder} holds no BERT tokenizer (vocab.txt or tokenizer.json): "
                              f"it should be your local copy of GoodBaiBai88/M3D-CLIP ({exc})") from exc
    tokenizer.backend_tokenizer.save(str(out))


def convert_vision(source: LLMSource, work_dir: str | Path, text_encoder: str | Path | None = None,
                   progress: ProgressCallback = no_progress) -> VisionGraphs:
    """Export the vision graphs of ``source`` into ``<work_dir>/vision`` (skipped when an
    earlier run finished them for the same inputs).

    Args:
        text_encoder: Med-2E3 only: the user's local M3D-CLIP folder (its BERT tokenizer).

    Raises:
        ConversionError: a tensor is missing or of another shape, or a file is unreadable.
    """
    from .towers import CheckpointError
    from .towers.graphs import QUESTION_LENGTH, export_lamed, export_med2e3, export_med3dvlm

    text_encoder = Path(text_encoder) if text_encoder else None
    out = Path(work_dir) / "vision"
    inputs = {"files": steps.file_stamps(_vision_inputs(source, text_encoder)), "layout": source.layout,
              "writer": WRITER_VERSION}
    record = steps.finished(out, inputs)
    if record is None:
        progress(Progress(VISION, 0, 1, "graphs", f"building the {source.layout} vision side"))
        tmp = steps.start(out)
        tmp.mkdir(parents=True)
        try:
            if source.layout == M3D_LAMED:
                vision, shape, n3 = _lamed(source)
                export_lamed(vision, tmp)
                projector = vision.mm_projector
                facts = {"input_shape": list(shape), "n_tokens_3d": n3, "n_tokens_2d": 0, "question_length": None,
                         "grid_3d": [g // projector.pooling_size for g in projector.grid]}
            elif source.layout == MED3DVLM:
                vision, shape, n3 = _med3dvlm(source)
                export_med3dvlm(vision, tmp)
                facts = {"input_shape": list(shape), "n_tokens_3d": n3, "n_tokens_2d": 0, "question_length": None}
            else:
                vision, shape = _med2e3(source, text_encoder)
                progress(Progress(VISION, 0, 1, "graphs", "exporting the scan and TG-IS graphs"))
                # the BERT tokenizer pads to 512; a BERT with fewer positions (a test's) to its own
                length = min(QUESTION_LENGTH, int(vision.bert.config.max_position_embeddings))
                export_med2e3(vision, tmp, length=length)
                _write_bert_tokenizer(text_encoder, tmp / TGIS_TOKENIZER)
                siglip = vision.vision2d.siglip.config
                facts = {"input_shape": list(shape), "n_tokens_3d": math.prod(vision.connector3d.pooled_grid),
                         "n_tokens_2d": (siglip.image_size // siglip.patch_size) ** 2, "question_length": length,
                         "grid_3d": list(vision.connector3d.pooled_grid)}
        except CheckpointError as exc:
            raise ConversionError(str(exc)) from exc
        (tmp / "facts.json").write_text(json.dumps(facts))
        record = steps.commit(tmp, out, VISION, inputs)
        progress(Progress(VISION, 1, 1, "graphs", "vision graphs written", "finished"))
    else:
        progress(Progress(VISION, 1, 1, "graphs", "vision graphs already exported", "skipped"))
    facts = json.loads((out / "facts.json").read_text())
    files = tuple(sorted(name for name in record["output"] if name != "facts.json"))
    return VisionGraphs(out, files, tuple(facts["input_shape"]), facts["n_tokens_3d"], facts["n_tokens_2d"],
                        facts["question_length"], tuple(facts.get("grid_3d") or ()))
