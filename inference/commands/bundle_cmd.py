"""``ctchat bundle verify``: check a bundle's files against its manifest.

Other packages add actions through the ``ctchat.bundle`` entry-point group (model building
registers ``bundle build``), so this runtime module never imports training code.
"""

from __future__ import annotations

import argparse

from ..bundle import load_bundle


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add ``bundle verify``; returns the ``bundle`` actions for plugins to extend."""
    p = subparsers.add_parser("bundle", help="verify (or build) a model bundle")
    actions = p.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    v = actions.add_parser("verify", help="check a bundle's files against its manifest (the LLM included)")
    v.add_argument("bundle", nargs="?", default="default")
    v.set_defaults(func=run_verify)
    return actions


def run_verify(args: argparse.Namespace) -> int:
    """Hash every file of a bundle, the LLM included."""
    bundle = load_bundle(args.bundle, verify_llm=True)
    print(f"{bundle.name}: all files match the manifest ({bundle.root})")
    return 0
