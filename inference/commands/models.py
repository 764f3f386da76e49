"""``ctchat models``: the installed bundles (``ctchat pull``'s) and the built-in default.

Reads local files only. ``models rm NAME`` deletes an installed bundle (asking first unless
``--yes``); ``models verify NAME`` hashes every file of one, its LLM included.

Example:
    $ ctchat models
    $ ctchat models --json
    $ ctchat models verify m3d-lamed-phi3-4b
    $ ctchat models rm m3d-lamed-phi3-4b --yes
"""

from __future__ import annotations

import argparse
import json
import sys

_HELP = __doc__.splitlines()[0]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``models`` (list), ``models rm`` and ``models verify`` to the ``ctchat`` command line."""
    p = subparsers.add_parser("models", help="list, verify or remove the installed model bundles",
                              description=_HELP)
    p.add_argument("--json", action="store_true", help="a JSON list of objects (name, path, source, size_bytes, "
                                                       "licence, scope, builtin)")
    p.set_defaults(func=run_list)
    actions = p.add_subparsers(dest="models_command", metavar="ACTION")
    rm = actions.add_parser("rm", help="delete an installed bundle")
    rm.add_argument("name")
    rm.add_argument("--yes", action="store_true", help="delete without asking")
    rm.set_defaults(func=run_rm)
    verify = actions.add_parser("verify", help="check an installed bundle's files, the LLM included")
    verify.add_argument("name")
    verify.set_defaults(func=run_verify)


def run_list(args: argparse.Namespace) -> int:
    from ..models.catalogue import human_bytes
    from ..models.store import builtin, installed, models_dir

    rows = [builtin(), *installed()]
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    for r in rows:
        print(f"{r.name}  {human_bytes(r.size_bytes)}  {r.source}\n  licence: {r.licence}\n  scope: {r.scope}\n"
              f"  path: {r.path}")
    if len(rows) == 1:
        print(f"(nothing installed in {models_dir()} yet: `ctchat pull --list` shows what can be)")
    return 0


def run_rm(args: argparse.Namespace) -> int:
    from ..models.errors import PullError
    from ..models.store import installed_path, remove

    path = installed_path(args.name)
    if path is not None and not args.yes:
        if not sys.stdin or not sys.stdin.isatty():
            print(f"ctchat models rm: deleting {path} needs a yes, and there is no terminal to ask on: pass --yes",
                  file=sys.stderr)
            return 1
        if input(f"Delete {path}? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing was deleted")
            return 1
    try:
        removed = remove(args.name)
    except PullError as exc:
        print(f"ctchat models rm: {exc}", file=sys.stderr)
        return 1
    print(f"removed {args.name} ({removed})")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from ..models.errors import PullError
    from ..models.store import verify

    try:
        bundle = verify(args.name)  # a damaged file raises BundleError: the command line says which
    except PullError as exc:
        print(f"ctchat models verify: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name}: every file matches its manifest ({bundle.root})")
    return 0
