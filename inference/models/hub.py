"""The only part of ctchat that talks to the network: a repository's file list and its files,
from the Hugging Face Hub (or whatever Hub-compatible server ``HF_ENDPOINT`` names).

``huggingface_hub`` lists the repository (``HfApi.model_info`` with the files' sizes, LFS
SHA-256 and git blob ids), finds the token (``HF_TOKEN``, else ``hf auth login``'s; ctchat never
reads, prints or stores it), builds the request headers and turns the Hub's answers into its
errors (a gated repository, a missing one). The file bodies are fetched here, with HTTP ranges,
into ``<file>.<version>.incomplete``: ``hf_hub_download`` in huggingface_hub 2.5 deletes its
partial file when a download fails, so a pull stopped at 7 of 8.6 GB would start from zero; this one
resumes from the byte it reached, in this run after a dropped connection and in the next run
after Ctrl-C. Everything downloads at one commit (the revision is resolved first), so the files
belong together even if the repository changes meanwhile.

``HF_ENDPOINT`` is read at each call (huggingface_hub reads it once, when it is imported).
"""

from __future__ import annotations

import glob
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

from ..missing_extra import MissingExtra
from .checksums import Expected
from .errors import PullError

DEFAULT_ENDPOINT = "https://huggingface.co"
RETRIES = 3  # tries of one file after a dropped connection or a 5xx, each resuming where the last stopped
RETRY_WAIT_S = 2.0
TIMEOUT_S = 30.0  # a connection that sends nothing for this long counts as dropped


@dataclass(frozen=True)
class RepoFile:
    """A file of a repository, as the Hub lists it."""

    name: str  # the path in the repository
    expected: Expected


@dataclass(frozen=True)
class RepoListing:
    """A repository at one commit: what a pull downloads from."""

    repo: str
    revision: str  # what was asked for ("main")
    commit: str | None  # the commit it resolved to (None for a local folder)
    gated: bool
    files: tuple[RepoFile, ...]

    def file(self, name: str) -> RepoFile:
        return next(f for f in self.files if f.name == name)


def _hub():
    """huggingface_hub, with its telemetry off, or the sentence saying which extra installs it.

    Its telemetry (``HF_HUB_DISABLE_TELEMETRY``) is read once, at its import, and would make
    the first request's headers fetch ``/api/agent-harnesses`` from huggingface.co (whatever
    ``HF_ENDPOINT`` says) to report whether an AI agent runs the process; ctchat sends nothing
    but its requests for the model, as it keeps ONNX Runtime's and Ray's telemetry off.
    """
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    try:
        import huggingface_hub
        from huggingface_hub import constants
    except ImportError as exc:
        raise MissingExtra('ctchat pull needs huggingface_hub, which is not installed: pip install "ctchat[llm]" '
                           "installs it") from exc
    constants.HF_HUB_DISABLE_TELEMETRY = True  # in case something imported it earlier
    return huggingface_hub


def endpoint() -> str:
    """The Hub to talk to: ``HF_ENDPOINT``, else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def public_endpoint() -> str:
    """:func:`endpoint` without any user name or password in it (what a manifest may record)."""
    parts = urlsplit(endpoint())
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def host() -> str:
    return urlsplit(endpoint()).hostname or endpoint()


def has_token() -> bool:
    """Whether huggingface_hub finds a token (``HF_TOKEN`` or a saved login); the token itself
    never leaves huggingface_hub's request headers."""
    return _hub().get_token() is not None


def gated_sentence(repo: str) -> str:
    return (f"{repo} is gated: accept its terms on the Hub and set HF_TOKEN or run `hf auth login`")


@contextmanager
def hub_errors(repo: str, what: str) -> Iterator[None]:
    """Turn huggingface_hub's and the HTTP client's errors into one sentence each."""
    _hub()
    from huggingface_hub import errors

    try:
        yield
    except errors.GatedRepoError:
        raise PullError(gated_sentence(repo)) from None
    except errors.RevisionNotFoundError:
        raise PullError(f"{repo} has no such revision on {host()}: check the name after the repository") from None
    except errors.RepositoryNotFoundError:
        raise PullError(f"{repo} is not on {host()}, or it is private: check the name, and for a private "
                        "repository set HF_TOKEN or run `hf auth login`") from None
    except errors.OfflineModeIsEnabled:
        raise PullError("HF_HUB_OFFLINE is set, so nothing can be downloaded: unset it, or copy the model "
                        "folder here and pull it with --from FOLDER") from None
    except errors.HfHubHTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "an error"
        raise PullError(f"{host()} answered HTTP {code} while {what}: try again later (what was downloaded "
                        "stays, and the next run resumes)") from None
    except errors.HFValidationError:
        raise PullError(f"{repo!r} is not a repository id: write it as owner/name") from None


def _transport_errors() -> tuple[type[BaseException], ...]:
    import httpx2

    return (httpx2.TransportError,)


def list_repo(repo: str, revision: str) -> RepoListing:
    """The repository's files at ``revision``, resolved to its commit.

    Raises:
        PullError: gated without access, not found, unreachable, or any other refusal.
    """
    hub = _hub()
    try:
        with hub_errors(repo, f"listing {repo}"):
            info = hub.HfApi(endpoint=endpoint()).model_info(repo, revision=revision, files_metadata=True,
                                                             timeout=TIMEOUT_S)
    except _transport_errors() as exc:
        raise PullError(f"cannot reach {host()} ({type(exc).__name__}): check the network, or copy the model "
                        "folder here and pull it with --from FOLDER") from None
    files = tuple(RepoFile(s.rfilename, Expected(s.size if s.size is None else int(s.size),
                                                 s.lfs.sha256 if s.lfs else None, None if s.lfs else s.blob_id))
                  for s in info.siblings or ())
    return RepoListing(repo, revision, info.sha, bool(info.gated), files)


def partial_path(dest: Path, expected: Expected) -> Path:
    """Where ``dest`` is downloaded to until complete, named after the version it is a prefix of
    (so a rerun after the repository changed does not append the new file to the old one)."""
    tag = (expected.sha256 or expected.blob_id or f"size{expected.size}")[:16]
    return dest.with_name(f"{dest.name}.{tag}.incomplete")


STOPPED = "the pull was stopped; run it again to resume"


def download(listing: RepoListing, file: RepoFile, dest: Path, on_bytes: Callable[[int], None],
             cancel: threading.Event | None = None) -> None:
    """Fetch one file to ``dest``, resuming its :func:`partial_path` where an earlier try stopped.

    ``on_bytes(n)`` is told of every ``n`` bytes written (the progress bar; the bytes already
    there are reported first). The file is renamed to ``dest`` only when complete; the checksum
    is the caller's. ``cancel`` (the viewer's Cancel) is checked after every chunk written.

    Raises:
        PullError: the server refused the file, the connection kept breaking off, or ``cancel``
            was set (what was written stays for the next run).
    """
    hub = _hub()
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    part = partial_path(dest, file.expected)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f"{glob.escape(dest.name)}.*.incomplete"):  # another version's
        if stale != part:
            stale.unlink()
    size = file.expected.size
    if part.exists() and size is not None and part.stat().st_size > size:
        part.unlink()  # longer than the file: not a prefix of it
    part.touch()  # (an empty file is complete at once)
    on_bytes(part.stat().st_size)
    url = hub.hf_hub_url(listing.repo, file.name, revision=listing.commit or listing.revision, endpoint=endpoint())
    failures = 0
    while True:
        have = part.stat().st_size
        if size is not None and have == size:
            break
        if cancel is not None and cancel.is_set():
            raise PullError(STOPPED)
        headers = build_hf_headers()  # the token, if any, goes only into these headers
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            with hub_errors(listing.repo, f"downloading {file.name}"):
                with get_session().stream("GET", url, headers=headers, timeout=TIMEOUT_S) as response:
                    if response.status_code in (429, 500, 502, 503, 504):
                        raise _Transient(f"HTTP {response.status_code}")
                    hf_raise_for_status(response)
                    restart = have and response.status_code != 206  # the server ignored the range
                    if restart:
                        on_bytes(-have)
                    with open(part, "wb" if restart else "ab") as fh:
                        for chunk in response.iter_bytes():  # as received: a drop keeps all that came
                            fh.write(chunk)
                            on_bytes(len(chunk))
                            if cancel is not None and cancel.is_set():  # the part written stays: a resume
                                raise PullError(STOPPED)
            if size is None:
                break  # no listed size: the server's own length was checked by the client
            if part.stat().st_size != size:
                raise _Transient("the body ended early")
        except (_Transient, *_transport_errors()) as exc:
            done = part.stat().st_size
            failures = 0 if done > have else failures + 1
            if failures >= RETRIES or (failures and _is_refused(exc)):
                raise PullError(f"the download of {file.name} from {host()} broke off at {done} of "
                                f"{size if size is not None else '?'} bytes ({_reason(exc)}): run the command "
                                "again to resume from there") from None
            time.sleep(RETRY_WAIT_S)
    os.replace(part, dest)


class _Transient(Exception):
    """A failure worth another try: a dropped connection, a short body, a 5xx or 429."""


def _is_refused(exc: BaseException) -> bool:
    """A connection refused outright: no server there, retrying will not help."""
    import httpx2

    return isinstance(exc, httpx2.ConnectError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _Transient):
        return str(exc)
    return type(exc).__name__
