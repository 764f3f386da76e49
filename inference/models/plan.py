"""What a pull will do, worked out before anything is downloaded: which repositories and files,
how many bytes, how much disk in all, under which terms.

``NAME`` is a catalogue entry (:mod:`inference.models.catalogue`); ``OWNER/REPO[:QUANT]`` an
uncatalogued Hub repository (a GGUF pair, the text model picked by ``QUANT``, or a safetensors
folder). With ``--from FOLDER`` the files are listed from that folder instead of the Hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .catalogue import CatalogueEntry, find_entry, human_bytes
from .checksums import Expected
from .errors import PullError
from .hub import RepoFile, RepoListing, list_repo, partial_path, public_endpoint
from .selection import GGUF, SAFETENSORS, default_name, select, select_gguf, select_safetensors, source_kind
from .store import DOWNLOADS, models_dir

REPO_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?::(?P<quant>[A-Za-z0-9_]+))?$")
QUANTS = ("f32", "f16", "q8_0", "q4_k_m")  # what `ctchat convert --quant` makes from safetensors
MARGIN_BYTES = 1_000_000_000  # kept free besides the estimate: the estimates are not exact
# a safetensors model's bundle against its download, by quantisation (16-bit weights -> q4_k_m
# keeps about 0.3, plus the f16 projector); the work folder holds a 16- or 32-bit GGUF meanwhile
BUNDLE_RATIO = {"q4_k_m": 0.35, "q8_0": 0.6, "f16": 1.0, "f32": 2.0}


@dataclass
class Part:
    """One repository of a pull: the model's own, or one pulled alongside it (``role``)."""

    role: str  # "model", "text_encoder" or "tokenizer" (the converter option it is given as)
    listing: RepoListing
    files: list[RepoFile]
    folder: Path  # where its files are, or will be once downloaded
    local: bool  # --from: the files are already there and are only hashed

    @property
    def bytes(self) -> int:
        return sum(f.expected.size or 0 for f in self.files)

    def missing_bytes(self) -> int:
        """What is left to download (a finished file counts as done, a partial one for its part)."""
        if self.local:
            return 0
        left = 0
        for f in self.files:
            size, dest = f.expected.size or 0, self.folder / f.name
            part = partial_path(dest, f.expected)
            have = dest.stat().st_size if dest.is_file() else part.stat().st_size if part.is_file() else 0
            left += max(size - have, 0)
        return left


@dataclass
class Plan:
    """Everything a pull does, for the summary, the disk check and the run."""

    name: str  # the installed bundle's folder name
    title: str
    quant: str  # `ctchat convert --quant`
    source_kind: str  # "gguf" or "safetensors"
    parts: list[Part]
    entry: CatalogueEntry | None
    licence: str
    terms_url: str
    gated: bool
    bundle_bytes: int
    work_bytes: int
    notes: list[str] = field(default_factory=list)

    @property
    def model(self) -> Part:
        return self.parts[0]

    def download_bytes(self) -> int:
        return sum(p.bytes for p in self.parts if not p.local)

    def needed_bytes(self) -> int:
        """Free disk the pull needs: what is left to download, the conversion's work, the bundle
        and a margin."""
        return sum(p.missing_bytes() for p in self.parts) + self.work_bytes + self.bundle_bytes + MARGIN_BYTES

    def summary(self, free: int) -> list[str]:
        """What the pull tells its user before asking."""
        m = self.model
        at = f"{m.listing.revision}, commit {m.listing.commit[:12]}" if m.listing.commit else "a local folder"
        lines = [f"{self.name}: {self.title}, from {m.folder if m.local else m.listing.repo} ({at})"]
        for extra in self.parts[1:]:
            lines.append(f"  with {extra.listing.repo} as its {extra.role.replace('_', ' ')} "
                         f"({len(extra.files)} files)")
        left = sum(p.missing_bytes() for p in self.parts)
        measured = self.entry is not None and not self.entry.is_estimate("bundle_bytes")
        bundle = human_bytes(self.bundle_bytes) if measured else f"~{human_bytes(self.bundle_bytes)}*"
        if self.download_bytes():
            lines.append(f"  download: {human_bytes(self.download_bytes())} in {sum(len(p.files) for p in self.parts)} "
                         f"files, as the Hub lists them ({human_bytes(self.download_bytes() - left)} already here)")
        lines.append(f"  disk needed: {human_bytes(self.needed_bytes())} (download left {human_bytes(left)}, "
                     f"conversion work {human_bytes(self.work_bytes)}, bundle {bundle}, margin "
                     f"{human_bytes(MARGIN_BYTES)}); free: {human_bytes(free)} in {models_dir()}")
        if self.entry is not None:
            lines.append(f"  memory {self.entry.memory_text()}; on the CPU: {self.entry.speed_text('speed_cpu')}")
            lines.append(f"  trained for: {self.entry.trained_for}")
        lines.append(f"  licence: {self.licence}" + (f"; terms: {self.terms_url}" if self.terms_url else ""))
        if self.gated:
            lines.append("  gated on the Hub: your account must have accepted these terms there")
        lines += [f"  {n}" for n in self.notes]
        lines.append("  * an estimate, not a measurement")
        return lines


def parse_target(spec: str) -> tuple[CatalogueEntry | None, str, str | None]:
    """``(entry or None, repository, QUANT or None)`` of ``NAME`` or ``OWNER/REPO[:QUANT]``.

    Raises:
        PullError: neither a catalogue name nor a repository id.
    """
    entry = find_entry(spec)
    if entry is not None:
        return entry, entry.repo, None
    match = REPO_ID.match(spec.strip())
    if not match:
        raise PullError(f"{spec!r} is not a model ctchat knows: `ctchat pull --list` shows the catalogue, or give "
                        "a Hugging Face repository as OWNER/NAME[:QUANT]")
    entry = find_entry(match["repo"])
    return entry, match["repo"], match["quant"]


def local_listing(folder: Path, repo: str) -> RepoListing:
    """A folder's files as a listing (``--from``): sizes only, nothing to check them against."""
    if not folder.is_dir():
        raise PullError(f"--from {folder}: no such folder")
    files = tuple(RepoFile(str(p.relative_to(folder)), Expected(p.stat().st_size))
                  for p in sorted(folder.rglob("*"))
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    return RepoListing(repo, "local", None, False, files)


def _part(role: str, repo: str, revision: str, patterns, from_folder: Path | None) -> Part:
    listing = local_listing(from_folder, repo) if from_folder else list_repo(repo, revision)
    files = select(listing.files, patterns) if patterns is not None else list(listing.files)
    if not files:
        raise PullError(f"{repo} holds none of the files ctchat takes from it ({', '.join(patterns or ())})")
    folder = from_folder if from_folder else models_dir() / DOWNLOADS / repo
    return Part(role, listing, files, folder, from_folder is not None)


def _extra_folder(from_folder: Path, repo: str, why: str) -> Path:
    """``--from``: a repository pulled alongside is looked for beside the model's folder."""
    folder = from_folder.parent / repo.rsplit("/", 1)[-1]
    if not folder.is_dir():
        raise PullError(f"this model also needs {repo} ({why}): put its folder beside {from_folder.name} "
                        f"as {folder}")
    return folder


def make_plan(spec: str, quant: str | None, from_folder: Path | None) -> Plan:
    """Resolve ``spec`` and list what it needs (the only network use before the download)."""
    entry, repo, tag = parse_target(spec)
    if entry is not None:
        convert_quant = (quant or tag or entry.quant).lower()  # NAME, or its REPO:QUANT
        if convert_quant not in QUANTS:
            raise PullError(f"{entry.name} is converted to one of {', '.join(QUANTS)}, not {convert_quant}")
        parts = [_part("model", repo, entry.revision, entry.files, from_folder)]
        for extra in entry.extra_repos:
            local = _extra_folder(from_folder, extra.repo, extra.why) if from_folder else None
            parts.append(_part(extra.role, extra.repo, extra.revision, extra.files, local))
        # every catalogued model is published as safetensors and converted here
        return Plan(entry.name, entry.title, convert_quant, SAFETENSORS, parts, entry, entry.licence,
                    entry.terms_url, entry.gated or parts[0].listing.gated, entry.bundle_bytes or 0,
                    _work_bytes(SAFETENSORS, parts[0].bytes, convert_quant))
    model = _part("model", repo, "main", None, from_folder)
    kind = source_kind(model.files)
    if kind == GGUF:
        model.files = select_gguf(repo, model.files, tag)
        convert_quant = "q4_k_m"  # a published pair is used as published; convert only checks it
        # placed by hard links beside the download (same disk); a --from folder may be another disk
        bundle = sum(f.expected.size or 0 for f in model.files) if from_folder else 0
    else:
        model.files = select_safetensors(model.files)
        convert_quant = (quant or tag or "q4_k_m").lower()
        if convert_quant not in QUANTS:
            raise PullError(f"a safetensors model is converted to one of {', '.join(QUANTS)}, not {convert_quant}")
        bundle = int(model.bytes * BUNDLE_RATIO[convert_quant])
    return Plan(default_name(repo, tag if kind == GGUF else None), repo, convert_quant, kind, [model], None,
                "as its model card states (recorded in the bundle once converted)", f"{public_endpoint()}/{repo}",
                model.listing.gated, bundle, _work_bytes(kind, model.bytes, convert_quant),
                notes=["not in ctchat's catalogue: its memory and speed are not known here"])


def _work_bytes(kind: str, download: int, quant: str) -> int:
    """The conversion's work folder at its fullest: the 16-bit (or 32-bit) GGUF before quantising."""
    if kind == GGUF:
        return 0
    return download * (2 if quant == "f32" else 1)
