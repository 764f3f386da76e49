"""``ctchat pull``: a published model from the Hub (or a local copy) to an installed bundle.

1. plan (:mod:`inference.models.plan`): resolve the name, list the repositories, add up the
   bytes; print the size, the disk it needs and the terms;
2. refuse early: a gated repository without a token, too little free disk, no agreement;
3. download each file (resuming, :mod:`inference.models.hub`) into
   ``<models dir>/.downloads/OWNER/NAME`` and check it against the SHA-256 (or git checksum)
   the Hub lists; a damaged file is deleted and the pull refused;
4. convert (``ctchat convert``, :mod:`inference.models.converter`) into ``.partial-NAME``,
   record where it came from in the manifest's ``source``, load it back with every hash checked,
   and only then rename it to ``NAME``.

Any failure or Ctrl-C leaves nothing registered: the partial bundle is removed; the downloads
(and the converter's ``.partial-NAME.work`` steps) stay, so the next run resumes. After a
success the downloads are removed (the bundle holds what it needs) unless ``keep_download``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..bundle import MANIFEST, BundleError, load_bundle
from .catalogue import human_bytes
from .checksums import VerifiedRecord, hashes, matches
from .converter import run_converter
from .errors import PullError
from .hub import download, gated_sentence, has_token, public_endpoint
from .plan import Plan, Part, make_plan
from .store import DOWNLOADS, check_name, installed_path, models_dir


def free_bytes(folder: Path) -> int:
    """Free bytes on the disk that holds (or will hold) ``folder``."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def is_interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def confirm(plan: Plan, accept: bool) -> None:
    """Ask y/N before downloading, unless ``--accept``; a run without a terminal must say --accept."""
    if accept:
        return
    if not is_interactive():
        raise PullError(f"pulling {plan.name} needs your agreement to its terms and there is no terminal to ask "
                        "on: pass --accept to agree and download")
    answer = input(f"Download and install {plan.name} under these terms? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise PullError("nothing was downloaded (the answer was not yes)")


def _bar(name: str, total: int | None):
    """A byte progress bar on stderr when it is a terminal; else one line per file (a log)."""
    from tqdm import tqdm  # installed with huggingface_hub

    if not sys.stderr.isatty():
        print(f"downloading {name} ({human_bytes(total) if total is not None else 'size not listed'})",
              file=sys.stderr, flush=True)
    return tqdm(total=total, desc=name[-40:], unit="B", unit_scale=True, unit_divisor=1000, file=sys.stderr,
                mininterval=0.5, leave=False, disable=not sys.stderr.isatty())


# (file name, bytes done, bytes in all or None): the viewer's progress bar, in place of tqdm's
Progress = Callable[[str, int, int | None], None]


@contextmanager
def _byte_counter(name: str, total: int | None, progress: Progress | None) -> Iterator[Callable[[int], None]]:
    """What :func:`~inference.models.hub.download` reports bytes to: the terminal's bar, or
    ``progress`` told the running total."""
    if progress is None:
        with _bar(name, total) as bar:
            yield bar.update
        return
    done = 0

    def update(n: int) -> None:
        nonlocal done
        done += n
        progress(name, done, total)

    yield update


def fetch_part(part: Part, progress: Progress | None = None,
               cancel: threading.Event | None = None) -> dict[str, str]:
    """Every file of ``part`` present and checked; ``{path in the repository: SHA-256}``.

    ``progress`` replaces the terminal's bar; ``cancel`` stops the download between chunks.

    Raises:
        PullError: a file does not match what the Hub lists (it is deleted), or its download failed.
    """
    if part.local:  # --from: nothing to check against; the hashes go into the manifest
        return {f.name: hashes(part.folder / f.name)[0] for f in part.files}
    part.folder.mkdir(parents=True, exist_ok=True)
    record = VerifiedRecord(part.folder)
    found: dict[str, str] = {}
    for f in part.files:
        dest = part.folder / f.name
        known = record.known_sha256(f.name, dest, f.expected)
        if known is None and dest.is_file():
            ok, sha = matches(dest, f.expected)
            if ok:
                known = sha
                record.add(f.name, dest, f.expected, sha)
            else:
                dest.unlink()  # an older revision's copy, or a damaged one: fetched again
        if known is not None:
            found[f.name] = known
            continue
        with _byte_counter(f.name, f.expected.size, progress) as on_bytes:
            download(part.listing, f, dest, on_bytes, cancel)
        ok, sha = matches(dest, f.expected)
        if not ok:
            dest.unlink()
            raise PullError(f"{f.name} does not match the {f.expected.how()} the Hub lists: the download is "
                            "damaged (it was deleted); run the command again")
        record.add(f.name, dest, f.expected, sha)
        found[f.name] = sha
    return found


def _discard(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _source_view(part: Part, root: Path) -> Path:
    """A folder of just the pulled files of ``part``, named after its repository (the converter
    names the bundle after it and reads the model card from it): hard links (no second copy),
    symbolic links where the files are on another disk (``--from``)."""
    view = root / part.listing.repo.rsplit("/", 1)[-1]
    for f in part.files:
        link, target = view / f.name, (part.folder / f.name).resolve()
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(target, link)
        except OSError:
            link.symlink_to(target)
    return view


def _materialise(bundle: Path) -> None:
    """Replace any symbolic link the converter placed (it hard-links what it is given, and a
    hard link to a symbolic link is one too) by a copy: the bundle must not depend on the
    downloads or on a --from folder that may go away."""
    for path in bundle.rglob("*"):
        if path.is_symlink():
            target = path.resolve()
            path.unlink()
            shutil.copy2(target, path)


def source_record(plan: Plan, found: list[dict[str, str]]) -> dict:
    """The manifest's ``source``: where each file came from and its SHA-256 (never a token)."""
    def one(part: Part, files: dict[str, str]) -> dict:
        record = {"repo": part.listing.repo, "revision": part.listing.revision, "commit": part.listing.commit,
                  "files": dict(sorted(files.items()))}
        if part.local:
            record["from_folder"] = str(part.folder.resolve())
        else:
            record["hub"] = public_endpoint()
        return record

    main = one(plan.model, found[0])
    main["pulled_as"] = plan.name
    if plan.entry is not None:
        main["catalogue"] = plan.entry.name
    if len(plan.parts) > 1:
        main["extra_repos"] = [{"role": p.role, **one(p, h)} for p, h in zip(plan.parts[1:], found[1:])]
    return main


def _write_source(bundle: Path, record: dict) -> None:
    path = bundle / MANIFEST
    manifest = json.loads(path.read_text())
    # the converter's own record (source format, folder name) stays; the pull's facts are added
    manifest["source"] = {**(manifest.get("source") or {}), **record}
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def install(plan: Plan, found: list[dict[str, str]]) -> Path:
    """Convert, record the source, check, then rename into place; nothing half-registered."""
    root = models_dir()
    partial, views = root / f".partial-{plan.name}", root / f".source-{plan.name}"
    for leftover in (partial, views):
        _discard(leftover)
    try:
        folders = {part.role: _source_view(part, views / part.role) for part in plan.parts}
        run_converter(folders["model"], partial, plan.quant, tokenizer=folders.get("tokenizer"),
                      text_encoder=folders.get("text_encoder"), label=plan.model.listing.repo)
        _materialise(partial)
        _write_source(partial, source_record(plan, found))
        try:
            load_bundle(partial, verify_llm=True)
        except BundleError as exc:
            raise PullError(f"the bundle made from {plan.model.listing.repo} does not load: {exc}") from None
        final = root / plan.name
        os.rename(partial, final)
        return final
    finally:
        _discard(partial)
        _discard(views)


def _drop_downloads(plan: Plan) -> None:
    """The downloads, once the bundle holds what it needs (a GGUF pair: by hard links)."""
    downloads = models_dir() / DOWNLOADS
    for part in plan.parts:
        if not part.local:
            _discard(part.folder)
            owner = part.folder.parent
            for folder in (owner, downloads):  # left empty: gone too
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()


def pull(spec: str, accept: bool = False, quant: str | None = None, from_folder: str | Path | None = None,
         keep_download: bool = False, progress: Progress | None = None,
         cancel: threading.Event | None = None) -> Path:
    """Pull ``spec`` (a catalogue name or ``OWNER/REPO[:QUANT]``); returns the installed folder.

    ``progress(file name, bytes done, total)`` is told of each download in place of the
    terminal's bar, and ``cancel`` set stops it between chunks (the viewer's Models dialog); what
    was downloaded stays for the next pull to resume.

    Raises:
        PullError: each refusal or failure, in one sentence (nothing is registered); a stop is
            "the pull was stopped; run it again to resume".
    """
    plan = make_plan(spec, quant, Path(from_folder).expanduser() if from_folder else None)
    check_name(plan.name)
    existing = installed_path(plan.name)
    if existing is not None:
        raise PullError(f"{plan.name} is already installed in {existing}: `ctchat models rm {plan.name}` first to "
                        "pull it again")
    root = models_dir()
    if (root / plan.name).exists():
        raise PullError(f"{root / plan.name} exists and is not a bundle: move it away to pull {plan.name}")
    free = free_bytes(root)
    print("\n".join(plan.summary(free)), flush=True)
    if plan.gated and not plan.model.local and not has_token():
        raise PullError(gated_sentence(plan.model.listing.repo))
    if free < plan.needed_bytes():
        raise PullError(f"pulling {plan.name} needs about {human_bytes(plan.needed_bytes())} free and the disk of "
                        f"{root} has {human_bytes(free)}: free some space, or set CTCHAT_MODELS_DIR to a folder "
                        "on a larger disk")
    confirm(plan, accept)
    found = [fetch_part(part, progress, cancel) for part in plan.parts]
    final = install(plan, found)
    if not keep_download:
        _drop_downloads(plan)
    return final
