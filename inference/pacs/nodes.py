"""PACS nodes: where they are, how to log in, kept in a private settings file.

The settings file (``CTCHAT_PACS_NODES``, default ``<data_dir>/pacs/nodes.json``, mode 600) holds
no password: a node's password comes from the system keyring when the ``keyring`` package is
importable (service ``ctchat-pacs``, user ``NODE:USER``), else from ``CTCHAT_PACS_PASSWORD``.
A bearer token is a password too (``auth: "bearer"``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..resources import data_dir
from .errors import PacsError

PASSWORD_ENV = "CTCHAT_PACS_PASSWORD"
KEYRING_SERVICE = "ctchat-pacs"
DEFAULT_OUR_AET = "CTCHAT"


@dataclass
class Node:
    """One PACS: a DICOMweb URL, or a DIMSE host and port with AE titles (or both: DICOMweb
    is then used).

    ``retrieve`` is ``"get"`` (C-GET, the default) or ``"move"`` (C-MOVE to ``our_aet``, which
    the PACS must know as ``our host:our_port``). ``verify`` is True, False or a CA bundle path.
    """

    name: str = "inline"
    dicomweb_url: str = ""
    host: str = ""
    port: int = 104
    aet: str = ""
    our_aet: str = DEFAULT_OUR_AET
    our_port: int = 0
    retrieve: str = "get"
    auth: str = "basic"
    user: str = ""
    verify: bool | str = True
    timeout_s: float = 30.0
    password: str | None = field(default=None, repr=False, compare=False)  # never written out

    @property
    def kind(self) -> str:
        """``"dicomweb"`` or ``"dimse"``."""
        return "dicomweb" if self.dicomweb_url else "dimse"

    @property
    def where(self) -> str:
        """The address for sentences (no credentials)."""
        return self.dicomweb_url if self.dicomweb_url else f"{self.aet}@{self.host}:{self.port}"

    def secret(self) -> str | None:
        """The password or token: given, from the keyring, or from ``CTCHAT_PACS_PASSWORD``."""
        if self.password is not None:
            return self.password
        if self.user or self.auth == "bearer":
            stored = _keyring_password(self.name, self.user)
            if stored is not None:
                return stored
        return os.environ.get(PASSWORD_ENV)

    def to_dict(self) -> dict[str, Any]:
        """The settings-file entry (without the password)."""
        out = asdict(self)
        out.pop("password")
        return out


def checked(node: Node) -> Node:
    """The node, or a sentence on what it lacks."""
    if not node.dicomweb_url and not (node.host and node.aet):
        raise PacsError(f"PACS node {node.name!r} needs a DICOMweb URL, or a DIMSE host, port and AE title")
    if node.retrieve not in ("get", "move"):
        raise PacsError(f"PACS node {node.name!r}: retrieve must be 'get' or 'move', not {node.retrieve!r}")
    if node.retrieve == "move" and node.kind == "dimse" and not node.our_port:
        raise PacsError(f"PACS node {node.name!r} retrieves by C-MOVE: give our_port, the port it sends to")
    if node.auth not in ("basic", "bearer"):
        raise PacsError(f"PACS node {node.name!r}: auth must be 'basic' or 'bearer', not {node.auth!r}")
    return node


def settings_path() -> Path:
    """The settings file (it may not exist yet)."""
    env = os.environ.get("CTCHAT_PACS_NODES")
    return Path(env) if env else data_dir() / "pacs" / "nodes.json"


def load_nodes(path: Path | None = None) -> dict[str, Node]:
    """Every node of the settings file by name (none when the file does not exist)."""
    path = path or settings_path()
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {name: checked(Node(**{**entry, "name": name})) for name, entry in raw.get("nodes", {}).items()}
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
        raise PacsError(f"the PACS settings file {path} cannot be read ({exc}): fix or remove it") from None


def node_by_name(name: str, path: Path | None = None) -> Node:
    """The node called ``name`` in the settings file."""
    nodes = load_nodes(path)
    if name not in nodes:
        known = ", ".join(sorted(nodes)) or "none yet: add one with `ctchat pacs node add`"
        raise PacsError(f"no PACS node named {name!r} in {path or settings_path()} (known: {known})")
    return nodes[name]


def save_node(node: Node, path: Path | None = None) -> Path:
    """Add or replace ``node`` in the settings file, kept private (mode 600: it says where the
    PACS is and who logs in). A password given with the node goes to the keyring when there
    is one; otherwise it is not kept (use ``CTCHAT_PACS_PASSWORD``)."""
    path = path or settings_path()
    nodes = {n: e.to_dict() for n, e in load_nodes(path).items()}
    nodes[node.name] = checked(node).to_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"nodes": nodes}, fh, indent=2)
    os.chmod(path.with_suffix(".tmp"), 0o600)
    os.replace(path.with_suffix(".tmp"), path)
    if node.password is not None:
        _store_keyring_password(node.name, node.user, node.password)
    return path


def remove_node(name: str, path: Path | None = None) -> None:
    """Take ``name`` out of the settings file."""
    path = path or settings_path()
    node_by_name(name, path)
    raw = json.loads(path.read_text())
    del raw["nodes"][name]
    path.write_text(json.dumps(raw, indent=2))
    os.chmod(path, 0o600)


def keyring_available() -> bool:
    """Whether passwords can be kept in the system keyring."""
    try:
        import keyring  # noqa: F401
    except ImportError:
        return False
    return True


def _keyring_password(node: str, user: str) -> str | None:
    try:
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, f"{node}:{user}")
    except Exception:  # noqa: BLE001 - a locked or absent keyring backend: fall back to the env
        return None


def _store_keyring_password(node: str, user: str, password: str) -> None:
    if not keyring_available():
        raise PacsError(f"no keyring here to keep the password of {node!r}: give it as {PASSWORD_ENV} instead")
    import keyring

    keyring.set_password(KEYRING_SERVICE, f"{node}:{user}", password)
