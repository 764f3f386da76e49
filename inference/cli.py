"""``ctchat``: the command line.

The runtime's sub-commands live here (``info``, ``ask``, ``batch``, ``doctor``, ``bundle verify``),
and the ``bench`` group; other packages add theirs through the entry-point groups
``ctchat.commands``, ``ctchat.bench`` and ``ctchat.bundle`` (the viewer registers ``view``; model
building registers ``train``, ``pretrain``, ``eval``, ``convert`` and ``bundle build``; the
``benchmarks`` package registers every ``bench`` target), so this headless package imports neither
the GUI, nor torch, nor the benchmarks. Each entry point is a ``register(subparsers)`` function
that adds a parser and sets ``func(args) -> int`` as its default.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points
from typing import Sequence

from .bundle import BundleError
from .io.errors import CTLoadError
from .llm.errors import LLMError
from .missing_extra import MissingExtra
from .pacs.errors import PacsError
from .question import QuestionError
from .slices.recipe import SliceRecipeError


def _register_plugins(group: str, subparsers: argparse._SubParsersAction) -> None:
    for ep in entry_points(group=group):
        try:
            ep.load()(subparsers)
        except ImportError as exc:  # e.g. the viewer extra is not installed
            sub = subparsers.add_parser(ep.name, help=f"(unavailable: {exc})")
            sub.set_defaults(func=lambda _args, _exc=exc: _unavailable(ep.name, _exc))


def _unavailable(name: str, exc: Exception) -> int:
    print(f"ctchat: '{name}' is not available: {exc}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, built-in commands and plugins."""
    from .commands import ask, batch, bundle_cmd, doctor, info

    parser = argparse.ArgumentParser(prog="ctchat", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info.register(commands)
    ask.register(commands)
    batch.register(commands)
    doctor.register(commands)
    _register_plugins("ctchat.bundle", bundle_cmd.register(commands))
    bench = commands.add_parser("bench", help="benchmarks, each against a baseline in the same run")
    targets = bench.add_subparsers(dest="target", metavar="TARGET", required=True)
    _register_plugins("ctchat.bench", targets)
    _register_plugins("ctchat.commands", commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ctchat`` console command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] == "--demo":
        # the built-in default: the viewer on the bundled CT, ready to chat (with any view options)
        argv = ["view", "--demo", *argv[1:]]
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (CTLoadError, QuestionError, BundleError, LLMError, MissingExtra, SliceRecipeError, PacsError) as exc:  # each says what went wrong
        print(f"ctchat: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: a sentence and a log file, not a traceback
        from .crash_log import unexpected_error_sentence

        print(f"ctchat: {unexpected_error_sentence(exc, f'ctchat {args.command}')}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
