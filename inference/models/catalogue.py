"""The catalogue of published models ``ctchat pull NAME`` knows (``resources/catalogue.json``).

Each entry says where the model is published (Hub repository, revision, which files), how big
it is to download and once converted, what it needs to run, its licence and what it was trained
for. Every figure is marked ``measured`` or ``estimate`` in the entry's ``figures``, and an
estimate is printed with a ``*``, so no guess passes for a measurement.

Example:
    >>> entry = find_entry("m3d-lamed-phi3-4b")
    >>> entry.repo, entry.is_estimate("memory_gib")
    ('GoodBaiBai88/M3D-LaMed-Phi-3-4B', False)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..resources import resource_path

CATALOGUE_FILE = "catalogue.json"
MEASURED, ESTIMATE = "measured", "estimate"
FIGURES = ("download_bytes", "bundle_bytes", "memory_gib", "speed_cpu", "speed_gpu")


@dataclass(frozen=True)
class ExtraRepo:
    """A repository pulled alongside a model's own, given to the converter by its role
    (``text_encoder``: Med-2E3's M3D-CLIP; ``tokenizer``: its base LLM's tokenizer)."""

    role: str
    repo: str
    revision: str
    files: tuple[str, ...]
    why: str = ""


@dataclass(frozen=True)
class CatalogueEntry:
    """One published model (the fields of ``resources/catalogue.json``; sizes in bytes)."""

    name: str
    title: str
    repo: str
    revision: str
    files: tuple[str, ...]
    extra_repos: tuple[ExtraRepo, ...]
    quant: str
    download_bytes: int | None
    bundle_bytes: int | None
    memory_gib: float | tuple[float, float] | None
    speed_cpu: str | None
    speed_gpu: str | None
    figures: dict[str, str]
    licence: str
    terms_url: str
    gated: bool
    kind: str
    trained_for: str
    notes: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CatalogueEntry":
        memory = data.get("memory_gib")
        extras = tuple(ExtraRepo(e["role"], e["repo"], e.get("revision", "main"), tuple(e["files"]), e.get("why", ""))
                       for e in data.get("extra_repos", ()))
        return cls(name=data["name"], title=data.get("title", data["name"]), repo=data["repo"],
                   revision=data.get("revision", "main"), files=tuple(data["files"]), extra_repos=extras,
                   quant=data.get("quant", "q4_k_m"), download_bytes=data.get("download_bytes"),
                   bundle_bytes=data.get("bundle_bytes"),
                   memory_gib=tuple(memory) if isinstance(memory, list) else memory,
                   speed_cpu=data.get("speed_cpu"), speed_gpu=data.get("speed_gpu"),
                   figures=dict(data.get("figures", {})), licence=data["licence"],
                   terms_url=data.get("terms_url", ""), gated=bool(data.get("gated", False)), kind=data["kind"],
                   trained_for=data.get("trained_for", ""), notes=data.get("notes", ""))

    def is_estimate(self, figure: str) -> bool:
        """Whether ``figure`` (one of :data:`FIGURES`) is an estimate rather than a measurement."""
        return self.figures.get(figure) != MEASURED

    def mark(self, figure: str, text: str) -> str:
        """``text`` with the catalogue's ``*`` when ``figure`` is an estimate."""
        return f"{text}*" if self.is_estimate(figure) else text

    def memory_text(self) -> str:
        """``"7.0 GiB"``, ``"9-10 GiB*"`` or ``"not measured"``."""
        if self.memory_gib is None:
            return "not measured"
        if isinstance(self.memory_gib, tuple):
            text = f"{self.memory_gib[0]:g}-{self.memory_gib[1]:g} GiB"
        else:
            text = f"{self.memory_gib:.1f} GiB"
        return self.mark("memory_gib", text)

    def size_text(self, figure: str) -> str:
        """``download_bytes`` or ``bundle_bytes`` as ``"16.2 GB"`` (``"~2.8 GB*"`` for an estimate)."""
        value = getattr(self, figure)
        if value is None:
            return "not measured"
        text = human_bytes(value)
        return f"~{text}*" if self.is_estimate(figure) else text

    def speed_text(self, figure: str = "speed_cpu") -> str:
        value = getattr(self, figure)
        return "not measured" if value is None else self.mark(figure, value)

    def list_line(self) -> str:
        """One line of ``ctchat pull --list``."""
        gated = ", gated: accept its terms on the Hub first" if self.gated else ""
        return (f"{self.name}  {self.repo}  download {self.size_text('download_bytes')}, "
                f"bundle {self.size_text('bundle_bytes')}, memory {self.memory_text()}, "
                f"CPU: {self.speed_text('speed_cpu')}; licence: {self.licence}{gated}")


def human_bytes(n: int | float) -> str:
    """Bytes in decimal units, as the Hub and disk vendors write them (``"8.6 GB"``)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


@lru_cache(maxsize=1)
def load_catalogue() -> tuple[CatalogueEntry, ...]:
    """Every entry of ``resources/catalogue.json``, in its order."""
    data = json.loads(resource_path(CATALOGUE_FILE).read_text(encoding="utf-8"))
    return tuple(CatalogueEntry.from_dict(d) for d in data["models"])


def find_entry(name_or_repo: str) -> CatalogueEntry | None:
    """The entry named ``name_or_repo`` or published at that repository (either case), else None."""
    wanted = name_or_repo.strip().lower()
    for entry in load_catalogue():
        if wanted in (entry.name.lower(), entry.repo.lower()):
            return entry
    return None


def list_lines() -> list[str]:
    """``ctchat pull --list``: one line per entry, then what ``*`` means."""
    lines = [entry.list_line() for entry in load_catalogue()]
    lines.append("* an estimate (from parameter counts or a bundle's measured parts), not a measurement; "
                 "more: docs/models.md")
    return lines
