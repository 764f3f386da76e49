"""Which files of a repository a pull fetches.

A catalogued model lists its files as shell patterns, matched against each file's whole path in
the repository (``fnmatch``: ``*`` also crosses ``/``, so ``*.json`` takes ``llm/config.json``).
An uncatalogued repository is either a llama.cpp vision model published as GGUF files (the text
model whose name carries the asked quantisation, ``REPO:Q4_K_M``, and its ``mmproj`` projector)
or a safetensors folder that ``ctchat convert`` may recognise (it says so, in one sentence, if
it does not).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Sequence

from .errors import PullError
from .hub import RepoFile

GGUF, SAFETENSORS = "gguf", "safetensors"
# what a safetensors repository needs besides its weights: config, tokenizer, chat template, card
SAFETENSORS_FILES = ("*.json", "*.safetensors", "tokenizer.model", "*.jinja", "*.txt", "README.md", "LICENSE*")
CARD_FILES = ("README.md", "LICENSE*")  # the licence a bundle records is read from these
# a projector's preferred precisions, best first (llama.cpp's mtmd reads f16 natively)
PROJECTOR_PREFERENCE = ("f16", "bf16", "f32", "q8_0")


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def select(files: Sequence[RepoFile], patterns: Sequence[str]) -> list[RepoFile]:
    """The files matching any of ``patterns`` (case-sensitive, as the Hub's paths are)."""
    return [f for f in files if any(fnmatchcase(f.name, p) for p in patterns)]


def quant_in_name(name: str, quant: str) -> bool:
    """Whether a GGUF's file name carries ``quant`` as a whole word (``Q4_K`` is not in
    ``Q4_K_M``; ``model_Q8_0.gguf`` and ``model-q8_0.gguf`` both carry ``Q8_0``)."""
    stem = _base(name)[: -len(".gguf")] if name.lower().endswith(".gguf") else _base(name)
    return re.search(rf"(?:^|[-._\s]){re.escape(quant)}(?:$|[-.\s])", stem, re.IGNORECASE) is not None


def source_kind(files: Sequence[RepoFile]) -> str:
    """``"gguf"`` or ``"safetensors"`` for an uncatalogued repository.

    Raises:
        PullError: neither kind.
    """
    names = [f.name.lower() for f in files]
    if any(n.endswith(".gguf") for n in names):
        return GGUF
    if any(n.endswith(".safetensors") for n in names) and any(_base(n) == "config.json" for n in names):
        return SAFETENSORS
    raise PullError("the repository holds neither GGUF files (a model with its mmproj projector) nor safetensors "
                    "weights with a config.json: ctchat cannot convert it")


def _projector(projectors: list[RepoFile]) -> RepoFile:
    for precision in PROJECTOR_PREFERENCE:
        for p in projectors:
            if quant_in_name(p.name, precision):
                return p
    return projectors[0]


def select_gguf(repo: str, files: Sequence[RepoFile], quant: str | None) -> list[RepoFile]:
    """The text GGUF (the one whose name carries ``quant``), its projector and the model card.

    Raises:
        PullError: no projector, no or several text GGUFs for ``quant``, or a GGUF split in parts.
    """
    ggufs = sorted((f for f in files if f.name.lower().endswith(".gguf")), key=lambda f: f.name)
    projectors = [f for f in ggufs if "mmproj" in _base(f.name).lower()]
    texts = [f for f in ggufs if f not in projectors]
    if not projectors:
        raise PullError(f"{repo} has no vision projector (mmproj*.gguf): ctchat runs a GGUF model only with the "
                        "projector published beside it")
    if not texts:
        raise PullError(f"{repo} holds only a vision projector, no language model GGUF")
    listed = ", ".join(_base(t.name) for t in texts)
    if quant:
        chosen = [t for t in texts if quant_in_name(t.name, quant)]
        if not chosen:
            raise PullError(f"{repo} has no GGUF whose name carries {quant}: it holds {listed}")
    elif len(texts) > 1:
        raise PullError(f"{repo} holds several language models ({listed}): name one as {repo}:QUANT, "
                        f"e.g. {repo}:Q4_K_M")
    else:
        chosen = texts
    if len(chosen) > 1:
        parts = ", ".join(_base(c.name) for c in chosen)
        raise PullError(f"{repo} holds {quant or 'its model'} in several files ({parts}): ctchat takes a GGUF in "
                        "one file; name another quantisation")
    return [chosen[0], _projector(projectors), *select(files, CARD_FILES)]


def select_safetensors(files: Sequence[RepoFile]) -> list[RepoFile]:
    """The weights, config, tokenizer, chat template and model card of a safetensors repository."""
    return select(files, SAFETENSORS_FILES)


def default_name(repo: str, quant: str | None) -> str:
    """The installed name of an uncatalogued repository: its name, lower case, with the quant."""
    base = re.sub(r"[^a-z0-9._-]+", "-", repo.rsplit("/", 1)[-1].lower()).strip("-.") or "model"
    return f"{base}-{quant.lower()}" if quant and not base.endswith(quant.lower()) else base
