"""``ctchat info PATH [--json]``: what a user checks first about a scan."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..io import CTLoadError, DicomFolder, SeriesInfo, load_volume, read_dicom_folder
from ..io.loader import is_volume_file, volume_file_series
from ..io.volume import Volume


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``info`` sub-command."""
    p = subparsers.add_parser(
        "info",
        help="series found, shape, spacing, orientation, HU range and warnings of a scan",
        description="Describe a DICOM folder/file or NIfTI file: every series it holds, or one.",
    )
    p.add_argument("path", help="DICOM folder or file, or .nii/.nii.gz")
    p.add_argument("--series", help="only this series (a uid from the listing)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p.set_defaults(func=run)


def describe(volume: Volume) -> dict[str, Any]:
    """The facts ``info`` reports about one loaded volume (no patient identifiers)."""
    lo, hi = volume.hu_range()
    return {
        "shape_zyx": list(volume.shape),
        "spacing_zyx_mm": [round(s, 6) for s in volume.spacing_zyx],
        "orientation": volume.orientation,
        "source_orientation": volume.metadata.get("source_orientation"),
        "world_frame": volume.world_frame,
        "affine": [[round(float(v), 6) for v in row] for row in volume.affine],
        "dtype": str(volume.voxels.dtype),
        "resampled": volume.original is not None,
        "n_stored_slices": volume.n_original,
        "hu_range": [lo, hi],
        "warnings": [{"code": w.code, "message": w.message, "slices": list(w.slices)} for w in volume.warnings],
        "metadata": volume.metadata,
    }


def run(args: argparse.Namespace) -> int:
    """Print the description of every series (or the chosen one), each with its own status:
    one series that cannot load never hides the others. Exit status 1 when none loads."""
    path = Path(args.path)
    if path.is_file() and is_volume_file(path):  # one series: read the file once
        info, volume = volume_file_series(path)
        report = [{**_fields(info), "status": "loaded", **describe(volume)}]
        _show(args, report)
        return 0
    folder = read_dicom_folder(args.path)  # each header parsed once, for the listing and every load
    series = folder.series
    if args.series:
        series = [s for s in series if s.uid == args.series]
        if not series:
            print(f"ctchat: series {args.series} not found in {args.path}", file=sys.stderr)
            return 1
    report = [_entry(folder, s, only=len(series) == 1 and not args.series) for s in series]
    _show(args, report)
    return 0 if any(e["status"] == "loaded" for e in report) else 1


def _show(args: argparse.Namespace, report: list[dict[str, Any]]) -> None:
    if args.json:
        print(json.dumps({"path": str(args.path), "series": report}, indent=2, default=str, allow_nan=False))
    else:
        _print_text(args.path, report)


def _fields(s: SeriesInfo) -> dict[str, Any]:
    return {
        "uid": s.uid,
        "series_number": s.series_number,
        "description": s.description,
        "study_description": s.study_description,
        "study_uid": s.study_uid,
        "kind": s.kind,
        "modality": s.modality,
        "n_slices": s.n_slices,
        "thickness_mm": s.thickness_mm,
        "acquisition_plane": s.orientation,
    }


def _entry(folder: DicomFolder, s: SeriesInfo, only: bool) -> dict[str, Any]:
    entry = _fields(s)
    if not s.loadable:
        return {**entry, "status": "not loaded", "reason": s.status}
    try:
        volume = load_volume(folder, None if only else s.uid)
    except CTLoadError as exc:
        return {**entry, "status": "cannot be loaded", "reason": str(exc)}
    return {**entry, "status": "loaded", **describe(volume)}


def _print_text(path: str, report: list[dict[str, Any]]) -> None:
    print(f"{path}: {len(report)} series")
    study = None
    for e in report:
        # one header per study (StudyInstanceUID): two studies may share a description
        key = (e["study_uid"], e["study_description"])
        if key != study and len(report) > 1:
            study = key
            uid = f"  uid {e['study_uid']}" if e["study_uid"] else ""
            print(f"\nstudy: {e['study_description'] or '(no description)'}{uid}")
        print(f"\n  series {e['series_number'] if e['series_number'] is not None else '-'}: "
              f"{e['description'] or '(no description)'}  [{e['modality'] or '?'}, {e['kind']}]  uid {e['uid']}")
        if e["status"] != "loaded":
            print(f"    {e['status'].upper():<20}{e['reason']}")
            continue
        print(f"    shape (z, y, x)     {' x '.join(map(str, e['shape_zyx']))}  ({e['dtype']})")
        print(f"    spacing (z, y, x)   {' x '.join(f'{v:.3f}' for v in e['spacing_zyx_mm'])} mm")
        print(f"    orientation         {e['orientation']} in {e['world_frame']} world "
              f"(acquired {e['source_orientation']}, {e['acquisition_plane']})")
        print(f"    HU range            {e['hu_range'][0]:.0f} .. {e['hu_range'][1]:.0f}")
        if e["resampled"]:
            print(f"    regular grid        resampled from {e['n_stored_slices']} stored slices "
                  "(ctchat view --as-stored shows them as stored)")
        if not e["warnings"]:
            print("    warnings            none")
        for w in e["warnings"]:
            print(f"    WARNING [{w['code']}] {w['message']}")
