"""``ctchat info PATH [--json]``: what a user checks first about a scan."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..io import list_series, load_volume
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
        "hu_range": [lo, hi],
        "warnings": [{"code": w.code, "message": w.message, "slices": list(w.slices)} for w in volume.warnings],
        "metadata": volume.metadata,
    }


def run(args: argparse.Namespace) -> int:
    """Print the description of every series (or the chosen one)."""
    series = list_series(args.path)
    if args.series:
        series = [s for s in series if s.uid == args.series] or series[:0]
        if not series:
            print(f"ctchat: series {args.series} not found in {args.path}")
            return 1
    report = []
    for s in series:
        entry = {
            "uid": s.uid,
            "series_number": s.series_number,
            "description": s.description,
            "modality": s.modality,
            "n_slices": s.n_slices,
            "thickness_mm": s.thickness_mm,
            "acquisition_plane": s.orientation,
        }
        entry.update(describe(load_volume(args.path, None if len(series) == 1 and not args.series else s.uid)))
        report.append(entry)
    if args.json:
        print(json.dumps({"path": str(args.path), "series": report}, indent=2, default=str))
        return 0
    print(f"{args.path}: {len(report)} series")
    for e in report:
        print(f"\n  series {e['series_number'] if e['series_number'] is not None else '-'}: "
              f"{e['description'] or '(no description)'}  [{e['modality'] or '?'}]  uid {e['uid']}")
        print(f"    shape (z, y, x)     {' x '.join(map(str, e['shape_zyx']))}  ({e['dtype']})")
        print(f"    spacing (z, y, x)   {' x '.join(f'{v:.3f}' for v in e['spacing_zyx_mm'])} mm")
        print(f"    orientation         {e['orientation']} in {e['world_frame']} world "
              f"(acquired {e['source_orientation']}, {e['acquisition_plane']})")
        print(f"    HU range            {e['hu_range'][0]:.0f} .. {e['hu_range'][1]:.0f}")
        if not e["warnings"]:
            print("    warnings            none")
        for w in e["warnings"]:
            print(f"    WARNING [{w['code']}] {w['message']}")
    return 0
