"""``ctchat batch INPUT --out results.jsonl``: every scan of a folder (or every row of a
CSV/JSONL) answered, one JSON line per answer; a rerun skips what the results already hold."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch.inputs import TABLE_SUFFIXES, ScanJob, folder_jobs, table_jobs
from ..batch.progress import Progress
from ..batch.results import ResultsWriter, done_keys
from ..batch.results_csv import slices_csv_path, write_results_csv, write_slices_csv
from ..batch.runner import RunSettings, pending, run_local
from ..io.errors import CTLoadError
from ..question import Question
from .model_options import add_model_options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``batch`` sub-command."""
    p = subparsers.add_parser("batch", help="answer questions about many scans, one JSON line per answer")
    p.add_argument("input", help="folder of scans (DICOM series, NIfTI and .npy model arrays, recursively), or a .csv/.jsonl "
                                 "of scan,question[,task,choices,disease,series] (choices separated by ';')")
    p.add_argument("--out", required=True, help="results file (JSONL); a rerun skips what it holds")
    p.add_argument("--csv", metavar="OUT.csv", help="also write every line of the results as a CSV table, and "
                   "every slice's scores (TG-IS, occlusion) in long format beside it (OUT.slices.csv)")
    p.add_argument("--question", action="append", default=[], help="for a folder: a question (repeatable)")
    p.add_argument("--yes-no", action="append", default=[], metavar="DISEASE",
                   help="for a folder: CT-RATE's question about DISEASE (repeatable); default: the findings")
    p.add_argument("--scan-id", choices=["hash", "path"], default="hash",
                   help="name scans by a hash of their relative path (default) or by the path itself")
    p.add_argument("--bundle", default="default", help="model bundle name or folder (default: default)")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--workers", type=int, default=1, help="processes on this machine, one model each")
    p.add_argument("--ray", metavar="ADDRESS", help="run on a Ray cluster ('auto': the one this machine is in)")
    p.add_argument("--actors", type=int, help="with --ray: how many models (default: one per GPU, else per 2 CPUs)")
    p.add_argument("--no-scan-cache", action="store_true",
                   help="neither read nor keep the scans' encodings on disk (also: CTCHAT_SCAN_CACHE=0)")
    add_model_options(p, save_model_input_help="write each question's exact model input under DIR, one folder per "
                                               "scan and question (scan0001_q1, ...: numbered by input order, no "
                                               "names; each results line names its folder)")
    p.set_defaults(func=run)


def is_slice_set(bundle: str) -> bool:
    """Whether the bundle named ``bundle`` is a slice-set one, from its manifest alone (the
    workers load and verify it; a bundle that cannot be read is their error to report)."""
    import json

    from ..bundle import MANIFEST, SLICE_SET, BundleError, bundle_dir

    try:
        return json.loads((bundle_dir(bundle) / MANIFEST).read_text()).get("kind") == SLICE_SET
    except (BundleError, OSError, ValueError):
        return True  # unknown: say nothing rather than something that may be wrong


def jobs_for(input_path: Path, questions: list[Question], id_style: str) -> list[ScanJob]:
    """The input's scan jobs: a table's rows, or a folder's scans asked ``questions``."""
    if not input_path.exists():
        raise CTLoadError(f"{input_path} does not exist")
    if input_path.is_file() and input_path.suffix.lower() in TABLE_SUFFIXES:
        return table_jobs(input_path, id_style)
    return folder_jobs(input_path, questions or [Question("report")], id_style)


def run_jobs(jobs: list[ScanJob], out: Path, settings: RunSettings, workers: int = 1,
             ray_address: str | None = None, actors: int | None = None, quiet: bool = False) -> int:
    """Answer what ``out`` does not hold yet, writing each line as it comes; the lines written."""
    todo = [j for j in (pending(job, done_keys(out)) for job in jobs) if j is not None]
    progress = Progress(len(todo), sum(len(j.questions) + len(j.unaskable) for j in todo), live=not quiet)
    if not todo:
        return 0
    written = 0
    with ResultsWriter(out) as writer:
        def on_record(record: dict) -> None:
            nonlocal written
            writer.write(record)
            written += 1
            progress.record(record)

        if ray_address:
            from ..batch.ray_backend import run_ray

            run_ray(todo, settings, ray_address, actors, on_record)
        elif workers > 1:
            from ..batch.workers import run_processes

            run_processes(todo, settings, workers, on_record)
        else:
            run_local(todo, settings, on_record)
    if not quiet:
        progress.finish()
    return written


def run(args: argparse.Namespace) -> int:
    """Find the jobs, skip what is done, answer the rest."""
    questions = [Question.typed(q) for q in args.question] + [Question.yes_no(d) for d in args.yes_no]
    jobs = jobs_for(Path(args.input), questions, args.scan_id)
    if not jobs:
        raise CTLoadError(f"no DICOM series, NIfTI file or .npy array found under {args.input}")
    if args.slices is not None and not is_slice_set(args.bundle):
        print(f"ctchat: --slices is ignored: {args.bundle} is a native-3D model whose input is fixed by its recipe",
              file=sys.stderr)
    save_to = str(Path(args.save_model_input).resolve()) if args.save_model_input else None  # workers' cwd may differ
    settings = RunSettings(args.bundle, args.device, args.max_tokens, scan_cache=not args.no_scan_cache,
                           slices=args.slices, save_model_input=save_to, relevance=args.relevance)
    run_jobs(jobs, Path(args.out), settings, args.workers, args.ray, args.actors)
    print(f"ctchat: results in {args.out}", file=sys.stderr)
    if save_to:
        print(f"ctchat: the model's input for each question is under {save_to}", file=sys.stderr)
    if args.csv:
        n = write_results_csv(Path(args.out), Path(args.csv))
        long = slices_csv_path(Path(args.csv))
        values = write_slices_csv(Path(args.out), long)
        print(f"ctchat: {n} line(s) as CSV in {args.csv}; {values} slice value(s) in {long}", file=sys.stderr)
    return 0
