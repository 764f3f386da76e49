"""Where pulled bundles live, and what ``ctchat models`` lists, removes and verifies.

``models_dir()`` is ``$CTCHAT_MODELS_DIR``, else ``<data dir>/models`` (the folder that already
holds the default LLM's assembled GGUF). An installed bundle is a sub-folder with a
``manifest.json``; names starting with a dot are the pull's own working folders
(``.downloads``, ``.partial-NAME``, ``.source-NAME``) and never count as installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ..bundle import MANIFEST, SLICE_SET, VOLUME_3D, TrainedScope, load_bundle
from ..resources import data_dir, resource_path
from .errors import PullError

DOWNLOADS = ".downloads"
BUILTIN = "default"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class InstalledBundle:
    """One row of ``ctchat models`` (``--json`` writes these fields)."""

    name: str
    path: str
    source: str  # the Hub repository it was pulled from, or how else it came
    size_bytes: int
    licence: str
    scope: str  # the bundle kind and what it says it was trained for
    builtin: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def models_dir() -> Path:
    """The folder of installed bundles (not created here: only a pull writes into it)."""
    env = os.environ.get("CTCHAT_MODELS_DIR")
    return Path(env).expanduser() if env else data_dir() / "models"


def installed_path(name: str) -> Path | None:
    """The folder of the installed bundle ``name``, or None when there is none."""
    if not NAME_PATTERN.match(name):
        return None
    path = models_dir() / name
    return path if (path / MANIFEST).is_file() else None


def check_name(name: str) -> None:
    """Refuse a name that cannot be a bundle folder of its own (a path, a dot-name, the built-in)."""
    if not NAME_PATTERN.match(name) or name == BUILTIN:
        raise PullError(f"{name!r} cannot name an installed bundle: use letters, digits, '.', '-' and '_' "
                        f"(not starting with a dot), and not {BUILTIN!r}")


def folder_bytes(folder: Path) -> int:
    """The bytes of every file under ``folder`` (a hard-linked file counts once per name)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def scope_summary(manifest: dict) -> str:
    """The bundle kind and, in a few words, what its manifest says it was trained for."""
    kind = manifest.get("kind", VOLUME_3D)
    words = {SLICE_SET: "slice-set (2D slices)", VOLUME_3D: "3D volume"}.get(kind, kind)
    scope = TrainedScope.from_manifest(manifest)
    if not scope.declared:
        return f"{words}; trained scope not declared"
    region = f"; {scope.body_region}" if scope.body_region else ""
    return f"{words}; tasks: {', '.join(scope.tasks) or 'none'}{region}"


def _row(name: str, folder: Path, builtin: bool = False) -> InstalledBundle:
    manifest = json.loads((folder / MANIFEST).read_text())
    source = manifest.get("source") if isinstance(manifest.get("source"), dict) else {}
    origin = source.get("repo") or ("built in (ctchat's demonstration model)" if builtin else "converted locally")
    size = folder_bytes(folder)
    if builtin:  # its LLM comes from a package, assembled once into the data folder
        size += _default_llm_bytes()
    return InstalledBundle(name, str(folder), origin, size, str(manifest.get("licence", "")),
                           scope_summary(manifest), builtin)


def _default_llm_bytes() -> int:
    from ..llm.model_files import DEFAULT_GGUF_NAME

    path = data_dir() / "models" / DEFAULT_GGUF_NAME  # only if already assembled: listing writes nothing
    return path.stat().st_size if path.is_file() else 0


def installed() -> list[InstalledBundle]:
    """The bundles under :func:`models_dir`, by name (unreadable manifests are skipped)."""
    root = models_dir()
    rows = []
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and NAME_PATTERN.match(folder.name) and (folder / MANIFEST).is_file():
                try:
                    rows.append(_row(folder.name, folder))
                except (OSError, ValueError):
                    continue
    return rows


def builtin() -> InstalledBundle:
    """The bundle that ships with ctchat (``resources/bundles/default``)."""
    return _row(BUILTIN, resource_path("bundles", BUILTIN), builtin=True)


def remove(name: str) -> Path:
    """Delete the installed bundle ``name``; returns the folder it was in.

    Raises:
        PullError: no such installed bundle, or the built-in one.
    """
    if name == BUILTIN:
        raise PullError("the built-in default bundle ships with ctchat and cannot be removed")
    path = installed_path(name)
    if path is None:
        raise PullError(f"no installed bundle named {name!r}: `ctchat models` lists them")
    shutil.rmtree(path)
    return path


def verify(name: str):
    """Load the installed bundle ``name`` with every file hashed (the LLM included).

    Raises:
        PullError: no such installed bundle. BundleError: a file is missing or damaged.
    """
    path = resource_path("bundles", BUILTIN) if name == BUILTIN else installed_path(name)
    if path is None:
        raise PullError(f"no installed bundle named {name!r}: `ctchat models` lists them")
    return load_bundle(path, verify_llm=True)
