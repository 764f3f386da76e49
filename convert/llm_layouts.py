"""Where the LLM of each published checkpoint lives: its config, weights and tokenizer files.

Three layouts are known (docs/published-models-llm.md has the facts and their sources):

- ``m3d_lamed``: M3D-LaMed-Phi-3-4B / -Llama-2-7B, one Hugging Face folder
  (``LamedPhi3ForCausalLM`` / ``LamedLlamaForCausalLM``), vision, projector and segmentation
  tensors in the same safetensors shards.
- ``med2e3``: Med-2E3, ``llm/{config.json,pytorch_model.bin}`` beside the vision parts, the
  tokenizer at the top level (or in the user's local copy of the base LLM).
- ``med3dvlm``: Med3DVLM-Qwen-2.5-7B, one folder (``VLMQwenForCausalLM``), slow Qwen2 tokenizer
  files, vision in the shards and in ``vision_tower.bin``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ConversionError

M3D_LAMED, MED2E3, MED3DVLM = "m3d_lamed", "med2e3", "med3dvlm"

# family -> (architectures[0], model_type) that llama.cpp's converter knows
FAMILIES = {
    "phi3": ("Phi3ForCausalLM", "phi3"),
    "llama": ("LlamaForCausalLM", "llama"),
    "qwen2": ("Qwen2ForCausalLM", "qwen2"),
}
# a published architecture name -> (layout, family)
PUBLISHED_ARCHITECTURES = {
    "LamedPhi3ForCausalLM": (M3D_LAMED, "phi3"),
    "LamedLlamaForCausalLM": (M3D_LAMED, "llama"),
    "VLMQwenForCausalLM": (MED3DVLM, "qwen2"),
}
# the LLM class a Med-2E3 llm/config.json names -> family
MED2E3_LLMS = {arch: family for family, (arch, _) in FAMILIES.items()}

TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt")


@dataclass(frozen=True)
class LLMSource:
    """The LLM part of a published checkpoint.

    Attributes:
        layout: :data:`M3D_LAMED`, :data:`MED2E3` or :data:`MED3DVLM`.
        family: ``"phi3"``, ``"llama"`` or ``"qwen2"`` (a key of :data:`FAMILIES`).
        folder: the checkpoint folder as given.
        config: the config.json that describes the LLM.
        weights: the files holding its tensors (safetensors shards or a torch pickle).
        tokenizer_files: the tokenizer files to carry over.
    """

    layout: str
    family: str
    folder: Path
    config: Path
    weights: tuple[Path, ...]
    tokenizer_files: tuple[Path, ...]

    def input_files(self) -> list[Path]:
        """Every source file the LLM conversion reads (for the restart markers)."""
        return [self.config, *self.weights, *self.tokenizer_files]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConversionError(f"{path} cannot be read as JSON ({exc})") from exc


def _weight_files(folder: Path) -> tuple[Path, ...]:
    """The tensor files of a Hugging Face folder: sharded or single safetensors, else a pickle.

    A stray ``model.bin`` (M3D-LaMed-Phi-3 ships one that duplicates the shards) is ignored.
    """
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = folder / index_name
        if index.is_file():
            names = sorted(set(_read_json(index).get("weight_map", {}).values()))
            missing = [n for n in names if not (folder / n).is_file()]
            if missing:
                raise ConversionError(f"{folder} is incomplete: {index_name} lists {', '.join(missing)}, "
                                      "which are not there (finish the download)")
            return tuple(folder / n for n in names)
    for single in ("model.safetensors", "pytorch_model.bin"):
        if (folder / single).is_file():
            return (folder / single,)
    raise ConversionError(f"{folder} has no model weights (no model.safetensors, shards or pytorch_model.bin)")


def _tokenizer_files(folder: Path) -> tuple[Path, ...]:
    return tuple(folder / n for n in TOKENIZER_FILES if (folder / n).is_file())


def _check_tokenizer(files: tuple[Path, ...], family: str, where: str) -> None:
    names = {p.name for p in files}
    needed = {"tokenizer.model"} if family in ("phi3", "llama") else {"vocab.json", "merges.txt"}
    if "tokenizer.json" in names and family == "qwen2":
        needed = {"tokenizer.json"}
    needed |= {"tokenizer_config.json"}
    if not needed <= names:
        raise ConversionError(f"{where} lacks the tokenizer files {', '.join(sorted(needed - names))}")


def find_llm(folder: str | Path, tokenizer_dir: str | Path | None = None) -> LLMSource:
    """Recognise a published checkpoint folder and locate its LLM.

    Args:
        folder: the downloaded checkpoint.
        tokenizer_dir: where to take the tokenizer from when the checkpoint has none
            (Med-2E3 may need the user's local copy of its base LLM, e.g. Phi-3-mini-128k).

    Raises:
        ConversionError: the folder is not one of the known layouts, or files are missing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConversionError(f"{folder} is not a folder")
    llm_config = folder / "llm" / "config.json"
    if llm_config.is_file():
        return _med2e3(folder, llm_config, tokenizer_dir)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ConversionError(f"{folder} has no config.json: it is not a published checkpoint folder")
    config = _read_json(config_path)
    arch = (config.get("architectures") or [""])[0]
    if arch not in PUBLISHED_ARCHITECTURES:
        known = ", ".join(sorted(PUBLISHED_ARCHITECTURES))
        raise ConversionError(f"{folder} holds a {arch or 'model of unnamed architecture'}, "
                              f"not one of the published models this converter knows ({known}, Med-2E3)")
    layout, family = PUBLISHED_ARCHITECTURES[arch]
    tok_folder = Path(tokenizer_dir) if tokenizer_dir else folder
    tokenizer = _tokenizer_files(tok_folder)
    _check_tokenizer(tokenizer, family, str(tok_folder))
    return LLMSource(layout, family, folder, config_path, _weight_files(folder), tokenizer)


def _med2e3(folder: Path, llm_config: Path, tokenizer_dir: str | Path | None) -> LLMSource:
    arch = (_read_json(llm_config).get("architectures") or [""])[0]
    if arch not in MED2E3_LLMS:
        raise ConversionError(f"{llm_config} names the LLM {arch or '(none)'}, which this converter "
                              f"does not handle (it knows {', '.join(sorted(MED2E3_LLMS))})")
    family = MED2E3_LLMS[arch]
    candidates = [Path(tokenizer_dir)] if tokenizer_dir else [folder, folder / "llm"]
    for candidate in candidates:
        tokenizer = _tokenizer_files(candidate)
        if any(p.name == "tokenizer_config.json" for p in tokenizer):
            _check_tokenizer(tokenizer, family, str(candidate))
            return LLMSource(MED2E3, family, folder, llm_config, _weight_files(folder / "llm"), tokenizer)
    raise ConversionError(
        f"{folder} has no tokenizer files (tokenizer_config.json, tokenizer.model): give the folder "
        "of your local copy of its base LLM's tokenizer (e.g. Phi-3-mini-128k-instruct)")
