"""``ctchat bench batch``: every backend answers the same jobs, and the table says so."""

from __future__ import annotations

import shutil
from pathlib import Path

from inference.cli import main

SCAN = "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz"


def test_bench_batch_one_process_and_workers_agree(ct_dir: Path, tmp_path: Path, capsys) -> None:
    shutil.copy(ct_dir / "nifti" / SCAN, tmp_path / "a.nii.gz")
    shutil.copy(ct_dir / "nifti" / SCAN, tmp_path / "b.nii.gz")
    rc = main(["bench", "batch", str(tmp_path), "--no-ray", "--workers", "2", "--max-tokens", "4",
               "--question", "Where is the liver?"])
    out = capsys.readouterr().out
    assert rc == 0
    rows = [line for line in out.splitlines() if line.startswith(("1 process", "--workers 2"))]
    assert len(rows) == 2, out
    assert all(line.rstrip().endswith("same") for line in rows), out
    assert "2 scans x 1 questions" in out
