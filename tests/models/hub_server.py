"""A loopback server in the Hugging Face Hub's protocol, for ``ctchat pull``'s tests.

It answers what huggingface_hub 2.5 and the pull ask of the Hub (read from huggingface_hub's
``hf_api.model_info``, ``file_download.get_hf_file_metadata`` and ``utils/_http.py``):

- ``GET /api/models/OWNER/NAME[/revision/REV]`` (``?blobs=True``): ``id``, ``sha`` (the commit),
  ``gated``, ``private``, and ``siblings`` with ``rfilename``, ``size``, ``blobId`` (the git blob
  SHA-1) and, for a Git LFS file, ``lfs: {sha256, size, pointerSize}``;
- ``HEAD`` / ``GET /OWNER/NAME/resolve/REV/PATH``: ``X-Repo-Commit``, ``ETag`` (the SHA-256 of an
  LFS file, else the blob id), ``X-Linked-Etag`` / ``X-Linked-Size`` for LFS files,
  ``Content-Length``, ``Accept-Ranges``; ``Range: bytes=N-`` answered with 206 and
  ``Content-Range``;
- a gated repository's files: 401 with ``X-Error-Code: GatedRepo`` unless the request carries
  ``Authorization: Bearer <the server's token>``; an unknown repository: 401 ``RepoNotFound``;
  an unknown revision: 404 ``RevisionNotFound``; an unknown file: 404 ``EntryNotFound``.

Faults a test can ask for, per file: close the connection after N bytes of a GET body, answer
a status (503) instead of the file, or list a SHA-256 the bytes do not have. Every request is
recorded (method, path, Range header, whether it carried the token).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin", ".model")


@dataclass
class FakeRepo:
    """A repository at one commit: its files' bytes, and what the listing may say otherwise."""

    repo: str
    files: dict[str, bytes]
    gated: bool = False
    commit: str = field(default_factory=lambda: secrets.token_hex(20))
    listed_sha256: dict[str, str] = field(default_factory=dict)  # a listing that lies (a damaged file)

    def is_lfs(self, name: str) -> bool:
        return name.endswith(LFS_SUFFIXES) or len(self.files[name]) >= 10_000

    def sha256(self, name: str) -> str:
        return self.listed_sha256.get(name) or hashlib.sha256(self.files[name]).hexdigest()

    def blob_id(self, name: str) -> str:
        data = self.files[name]
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    def info(self) -> dict:
        siblings = []
        for name, data in sorted(self.files.items()):
            sibling = {"rfilename": name, "size": len(data), "blobId": self.blob_id(name)}
            if self.is_lfs(name):
                sibling["lfs"] = {"sha256": self.sha256(name), "size": len(data), "pointerSize": 134}
            siblings.append(sibling)
        return {"id": self.repo, "modelId": self.repo, "sha": self.commit, "private": False,
                "gated": "manual" if self.gated else False, "disabled": False, "siblings": siblings, "tags": []}


@dataclass(frozen=True)
class Seen:
    """One request the server answered."""

    method: str
    path: str
    range: str | None
    authorized: bool


class HubServer:
    """The server, in a thread on 127.0.0.1 at a free port; ``url`` is its ``HF_ENDPOINT``."""

    def __init__(self, token: str = "hf_loopback_test_token") -> None:
        self.token = token
        self.repos: dict[str, FakeRepo] = {}
        self.seen: list[Seen] = []
        # per file (its path in the repository), one entry per GET: first the drops (bytes sent
        # before the connection closes), then the statuses answered instead of the file
        self.drop_after: dict[str, list[int]] = {}
        self.fail_with: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, repo: FakeRepo) -> FakeRepo:
        self.repos[repo.repo] = repo
        return repo

    def gets(self, name: str) -> list[Seen]:
        """The GET requests of a file (by its path in the repository)."""
        return [s for s in self.seen if s.method == "GET" and "/resolve/" in s.path and s.path.endswith("/" + name)]

    def __enter__(self) -> "HubServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: the tests read hub.seen
                pass

            def do_GET(self) -> None:
                self._answer(body=True)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def _error(self, status: int, code: str, message: str) -> None:
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", message)
                self.send_header("Content-Type", "application/json")
                payload = json.dumps({"error": message}).encode()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _answer(self, body: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                authorized = self.headers.get("Authorization") == f"Bearer {hub.token}"
                with hub._lock:
                    hub.seen.append(Seen(self.command, path, self.headers.get("Range"), authorized))
                parts = path.strip("/").split("/")
                if parts[:2] == ["api", "models"]:
                    return self._info(parts[2:])
                if len(parts) >= 5 and parts[2] == "resolve":
                    return self._file("/".join(parts[:2]), parts[3], "/".join(parts[4:]), authorized, body)
                self._error(404, "NotFound", "no such route")

            def _repo(self, repo_id: str) -> FakeRepo | None:
                repo = hub.repos.get(repo_id)
                if repo is None:
                    self._error(401, "RepoNotFound", "Repository not found")
                return repo

            def _info(self, parts: list[str]) -> None:
                repo = self._repo("/".join(parts[:2]))
                if repo is None:
                    return
                revision = parts[3] if len(parts) >= 4 and parts[2] == "revision" else "main"
                if revision not in ("main", repo.commit):
                    return self._error(404, "RevisionNotFound", "Invalid rev id")
                payload = json.dumps(repo.info()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _file(self, repo_id: str, revision: str, name: str, authorized: bool, body: bool) -> None:
                repo = self._repo(repo_id)
                if repo is None:
                    return
                if repo.gated and not authorized:
                    return self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted. You must have "
                                                         "access to it and be authenticated to access it.")
                if revision not in ("main", repo.commit):
                    return self._error(404, "RevisionNotFound", "Invalid rev id")
                if name not in repo.files:
                    return self._error(404, "EntryNotFound", "Entry not found")
                drop = status = None
                if body:  # the faults, in order: the pending drops first, then the statuses
                    with hub._lock:
                        if hub.drop_after.get(name):
                            drop = hub.drop_after[name].pop(0)
                        elif hub.fail_with.get(name):
                            status = hub.fail_with[name].pop(0)
                    if status is not None:
                        return self._error(status, "ServiceUnavailable", "try again later")
                data = repo.files[name]
                start = 0
                ranged = self.headers.get("Range")
                if ranged and ranged.startswith("bytes=") and ranged.endswith("-"):
                    start = int(ranged[len("bytes="):-1])
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", repo.commit)
                etag = repo.sha256(name) if repo.is_lfs(name) else repo.blob_id(name)
                self.send_header("ETag", f'"{etag}"')
                if repo.is_lfs(name):
                    self.send_header("X-Linked-Etag", f'"{etag}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if not body:
                    return
                payload = data[start:]
                if drop is not None:  # a server failing midway: part of the body, then the connection closes
                    self.wfile.write(payload[:drop])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

        return Handler
