"""``ctchat pacs echo|find|get|send|sr|node``: a PACS, over DICOMweb or DIMSE.

A node comes from the settings file (``--node NAME``, see ``ctchat pacs node``) or is given
inline for scripts: ``--dicomweb URL`` or ``--dimse HOST:PORT --aet AET``, with ``--user`` and the
password (or bearer token) in ``CTCHAT_PACS_PASSWORD``. Only these commands use the network.

Example:
    $ ctchat pacs find --node hospital --patient-id 12345 --modality CT --json
    $ ctchat pacs get --node hospital --study 1.2.3 --series 1.2.3.4 --out scans/
    $ ctchat ask scans/1.2.3.4 "Is there a lung nodule?" --json > ask.json
    $ ctchat pacs sr --from-json ask.json --scan scans/1.2.3.4 --out answers.dcm --kos key.dcm
    $ ctchat pacs send answers.dcm key.dcm --node hospital
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from ..pacs.errors import PacsError

_HELP = __doc__.splitlines()[0]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pacs`` and its sub-commands."""
    p = subparsers.add_parser("pacs", help="query/retrieve a PACS (DICOMweb or DIMSE); send answers back as SR",
                              description=_HELP, epilog="Settings, authentication and examples: docs/pacs.md")
    sub = p.add_subparsers(dest="pacs_command", metavar="ACTION", required=True)
    echo = sub.add_parser("echo", help="check that a node answers (C-ECHO or a QIDO-RS query)")
    _node_args(echo)
    echo.set_defaults(func=run_echo)
    find = sub.add_parser("find", help="search studies (with their series)")
    _node_args(find)
    find.add_argument("--patient-id", default="")
    find.add_argument("--patient-name", default="", help="wildcards allowed, e.g. 'DOE*'")
    find.add_argument("--accession", default="")
    find.add_argument("--from", dest="date_from", default="", metavar="YYYYMMDD")
    find.add_argument("--to", dest="date_to", default="", metavar="YYYYMMDD")
    find.add_argument("--modality", default="", help="e.g. CT")
    find.add_argument("--limit", type=int, default=200, help="at most this many studies (default 200)")
    find.add_argument("--json", action="store_true", help="a JSON list of studies, each with its series")
    find.set_defaults(func=run_find)
    get = sub.add_parser("get", help="retrieve a series (or a study's CT series) into the cache")
    _node_args(get)
    get.add_argument("--study", required=True, help="StudyInstanceUID")
    get.add_argument("--series", help="SeriesInstanceUID (default: every CT series of the study)")
    get.add_argument("--out", help="copy the retrieved series here, one folder per series")
    get.set_defaults(func=run_get)
    send = sub.add_parser("send", help="send DICOM files (STOW-RS or C-STORE)")
    send.add_argument("files", nargs="+")
    _node_args(send)
    send.set_defaults(func=run_send)
    sr = sub.add_parser("sr", help="a DICOM SR (and KOS) of `ctchat ask --json` answers about a DICOM scan")
    sr.add_argument("--from-json", nargs="+", required=True, metavar="ASK_JSON", help="`ctchat ask --json` outputs")
    sr.add_argument("--scan", required=True, help="the scan's DICOM folder (the one asked about)")
    sr.add_argument("--series", help="series uid when the folder holds several")
    sr.add_argument("--measurements", help="a JSON list of rulers/ROIs (see docs/pacs.md)")
    sr.add_argument("--out", required=True, help="the SR file to write")
    sr.add_argument("--kos", help="also write a Key Object Selection of the peak slices here")
    sr.set_defaults(func=run_sr)
    _register_node_commands(sub)


def _node_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--node", help="a node of the settings file")
    p.add_argument("--dicomweb", metavar="URL", help="an inline DICOMweb node")
    p.add_argument("--dimse", metavar="HOST:PORT", help="an inline DIMSE node (with --aet)")
    p.add_argument("--aet", help="the PACS' AE title (DIMSE)")
    p.add_argument("--our-aet", default="CTCHAT", help="our AE title (DIMSE, default CTCHAT)")
    p.add_argument("--user", default="", help="user name; the password is read from CTCHAT_PACS_PASSWORD")
    p.add_argument("--bearer", action="store_true", help="CTCHAT_PACS_PASSWORD is a bearer token")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer (default 30)")


def node_from_args(args: argparse.Namespace):  # noqa: ANN201 - a Node
    """The node named by ``--node``, or the inline one."""
    from ..pacs.nodes import Node, checked, node_by_name

    given = [x for x in (args.node, args.dicomweb, args.dimse) if x]
    if len(given) != 1:
        raise PacsError("name one PACS node: --node NAME, --dicomweb URL, or --dimse HOST:PORT --aet AET")
    if args.node:
        return node_by_name(args.node)
    auth = "bearer" if args.bearer else "basic"
    if args.dicomweb:
        return checked(Node(dicomweb_url=args.dicomweb, user=args.user, auth=auth, timeout_s=args.timeout))
    host, _, port = args.dimse.rpartition(":")
    if not host or not port.isdigit():
        raise PacsError(f"--dimse takes HOST:PORT, not {args.dimse!r}")
    if not args.aet:
        raise PacsError("--dimse needs the PACS' AE title: --aet")
    return checked(Node(host=host, port=int(port), aet=args.aet, our_aet=args.our_aet, timeout_s=args.timeout))


def run_echo(args: argparse.Namespace) -> int:
    from ..pacs import echo

    node = node_from_args(args)
    echo(node)
    print(f"{node.where} answers")
    return 0


def run_find(args: argparse.Namespace) -> int:
    from ..pacs import StudyQuery, find_studies

    query = StudyQuery(args.patient_id, args.patient_name, args.accession, args.date_from, args.date_to,
                       args.modality, limit=args.limit)
    studies = find_studies(node_from_args(args), query)
    if args.json:
        print(json.dumps([s.to_json() for s in studies], indent=2))
        return 0
    for s in studies:  # the user asked to see these: printed to the terminal, never logged
        print(f"{s.study_uid}  {s.study_date}  {s.patient_id}  {s.patient_name}  {s.description}")
        for x in s.series:
            print(f"    {x.series_uid}  {x.modality}  #{x.series_number}  {x.n_instances} images  {x.description}")
    if len(studies) == args.limit:
        print(f"ctchat: showing the first {args.limit} studies: narrow the search or raise --limit", file=sys.stderr)
    return 0


def run_get(args: argparse.Namespace) -> int:
    from ..pacs.service import retrieve_series, retrieve_study

    node = node_from_args(args)
    progress = _Progress()
    try:
        if args.series:
            folders, skipped = [retrieve_series(node, args.study, args.series, progress)], ""
        else:
            result = retrieve_study(node, args.study, progress)
            folders, skipped = result.folders, result.skipped_sentence()
    finally:
        progress.finish()
    if skipped:
        print(f"ctchat: {skipped}", file=sys.stderr)
    for folder in folders:
        target = folder
        if args.out:
            target = Path(args.out) / folder.name
            shutil.copytree(folder, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete", "*.part"))
        print(target)
    return 0


def run_send(args: argparse.Namespace) -> int:
    from ..pacs import send_files

    node = node_from_args(args)
    n = send_files(node, args.files)
    print(f"sent {n} file{'s' if n != 1 else ''} to {node.where}")
    return 0


def run_sr(args: argparse.Namespace) -> int:
    from ..pacs.source import read_source_series
    from ..pacs.sr_writer import write_answer_sr

    answers = [_read_json(p, "an ask --json output") for p in args.from_json]
    for path, answer in zip(args.from_json, answers):
        if not isinstance(answer, dict) or "answer" not in answer:
            raise PacsError(f"{path} is not a `ctchat ask --json` output (no answer in it)")
    measurements = _read_json(args.measurements, "a measurements list") if args.measurements else []
    if not isinstance(measurements, list):
        raise PacsError(f"{args.measurements} must hold a JSON list of measurements")
    bundle = answers[0].get("bundle") or {}
    series = read_source_series(args.scan, args.series)
    out = write_answer_sr(series, answers, bundle, args.out, measurements, kos_path=args.kos)
    print(out)
    if args.kos:
        print(args.kos)
    return 0


def _read_json(path: str, what: str):  # noqa: ANN202
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise PacsError(f"cannot read {path} ({exc.strerror})") from None
    except json.JSONDecodeError:
        raise PacsError(f"{path} is not JSON ({what} was expected)") from None


class _Progress:
    """``progress(done, total)`` on stderr: one redrawn line on a terminal, else the last."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.line = ""

    def __call__(self, done: int, total: int) -> None:
        self.line = f"ctchat: retrieved {done}/{total} images"
        if self.live:
            sys.stderr.write("\r" + self.line)
            sys.stderr.flush()

    def finish(self) -> None:
        if self.line:
            sys.stderr.write("\n" if self.live else self.line + "\n")


def _register_node_commands(sub: argparse._SubParsersAction) -> None:
    """``pacs node add|list|remove``: the settings file."""
    node = sub.add_parser("node", help="the PACS nodes of the settings file (add, list, remove)")
    actions = node.add_subparsers(dest="node_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add or replace a node")
    add.add_argument("name")
    add.add_argument("--dicomweb", metavar="URL", default="")
    add.add_argument("--dimse", metavar="HOST:PORT", default="")
    add.add_argument("--aet", default="", help="the PACS' AE title")
    add.add_argument("--our-aet", default="CTCHAT")
    add.add_argument("--move-port", type=int, default=0,
                     help="retrieve by C-MOVE, listening on this port (the PACS must know our AE there)")
    add.add_argument("--user", default="")
    add.add_argument("--bearer", action="store_true", help="the secret is a bearer token")
    add.add_argument("--ca-bundle", help="verify the server's TLS certificate against this CA file")
    add.add_argument("--save-password", action="store_true",
                     help="keep CTCHAT_PACS_PASSWORD in the system keyring (needs the keyring package)")
    add.set_defaults(func=run_node_add)
    actions.add_parser("list", help="the nodes").set_defaults(func=run_node_list)
    remove = actions.add_parser("remove", help="remove a node")
    remove.add_argument("name")
    remove.set_defaults(func=run_node_remove)


def run_node_add(args: argparse.Namespace) -> int:
    import os

    from ..pacs.nodes import PASSWORD_ENV, Node, save_node

    host, _, port = args.dimse.rpartition(":")
    if args.dimse and (not host or not port.isdigit()):
        raise PacsError(f"--dimse takes HOST:PORT, not {args.dimse!r}")
    password = None
    if args.save_password:
        password = os.environ.get(PASSWORD_ENV)
        if not password:
            raise PacsError(f"--save-password keeps {PASSWORD_ENV}, which is not set")
    node = Node(name=args.name, dicomweb_url=args.dicomweb, host=host, port=int(port or 104), aet=args.aet,
                our_aet=args.our_aet, our_port=args.move_port, retrieve="move" if args.move_port else "get",
                auth="bearer" if args.bearer else "basic", user=args.user, verify=args.ca_bundle or True,
                password=password)
    print(f"saved {args.name} in {save_node(node)}")
    return 0


def run_node_list(_args: argparse.Namespace) -> int:
    from ..pacs.nodes import load_nodes, settings_path

    nodes = load_nodes()
    if not nodes:
        print(f"no PACS nodes in {settings_path()}: add one with `ctchat pacs node add`")
    for name, node in sorted(nodes.items()):
        user = f" as {node.user}" if node.user else ""
        print(f"{name}: {node.kind} {node.where}{user}")
    return 0


def run_node_remove(args: argparse.Namespace) -> int:
    from ..pacs.nodes import remove_node

    remove_node(args.name)
    print(f"removed {args.name}")
    return 0
