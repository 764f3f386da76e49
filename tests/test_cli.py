"""The ``ctchat`` command line: info, ask's closing line and the I/O benchmark."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from inference.cli import main


def test_info_json_on_the_a0001_series(a0001_dicom, capsys):
    assert main(["info", str(a0001_dicom), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (series,) = report["series"]
    assert series["shape_zyx"] == [64, 512, 512]
    assert series["orientation"] == "LPS" and series["world_frame"] == "LPS"
    assert series["hu_range"] == [-1024.0, 2976.0]
    assert series["modality"] == "CT" and series["warnings"] == []


def test_info_text_shows_warnings(ct_dir, capsys):
    assert main(["info", str(ct_dir / "tiny" / "monai_CT_DICOM_16x16")]) == 0
    out = capsys.readouterr().out
    assert "WARNING [slice_gap]" in out and "202.50 mm" in out


def test_info_on_bad_input_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "x.dcm").write_bytes(b"")
    assert main(["info", str(tmp_path / "x.dcm")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "ctchat: x.dcm: the file is empty (0 bytes)"


def test_console_script_runs_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "inference.cli", "info", str(tmp_path / "none")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "no such file or folder" in result.stderr


def test_bench_io_prints_both_readers_and_the_ratio(a0001_dicom, capsys):
    assert main(["bench", "io", str(a0001_dicom), "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "SimpleITK ImageSeriesReader" in out and "ratio SimpleITK / ctchat" in out
    assert "identical voxels: True" in out


def test_bench_bundle_prints_reuse_against_recompute(capsys):
    assert main(["bench", "bundle", "--runs", "1", "--tokens", "4"]) == 0
    out = capsys.readouterr().out
    for row in ("vision graphs (ONNX Runtime)", "prefix reused from cache", "prefix recomputed (baseline)",
                "ratio recompute / reuse", "ratio cold / scan cache", "tokens/s", "peak memory"):
        assert row in out
    stages = re.search(r"of which: preprocess (\d+) ms, hash \+ read the entry (\d+) ms \(each run: \d+\), "
                       r"restore the KV state (\d+) ms, the question to the first token (-?\d+) ms", out)
    assert stages and int(stages.group(4)) >= 0, out
    work = re.search(r"vision work: ([\d.]+) GFLOP per scan, ([\d.]+) GFLOP/s: ([\d.]+) of the fp32 matmul peak", out)
    assert work and float(work.group(2)) > 0 and 0 < float(work.group(3)) < 2, out
    assert "time in " in out and "GFLOP/s" in out.split("time in ")[1]


def test_info_reads_a_nifti_file_once(ct_dir, capsys, monkeypatch):
    from inference.io import loader

    calls = []
    real = loader.load_nifti
    monkeypatch.setattr(loader, "load_nifti", lambda path: calls.append(path) or real(path))
    assert main(["info", str(ct_dir / "nifti" / "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(calls) == 1 and report["series"][0]["status"] == "loaded"
    assert report["series"][0]["shape_zyx"][0] == report["series"][0]["n_slices"]


def test_ask_says_what_is_true_of_a_yes_no_answer(a0001_dicom, capsys):
    """A yes/no answer is read from P(yes): its closing line gives that and the time, no rate."""
    assert main(["ask", str(a0001_dicom), "--task", "yes_no", "--disease", "lung nodule"]) == 0
    closing = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.search(r"; P\(yes\) [01]\.\d\d, \d+\.\d s; ctchat-default", closing), closing
    assert "tokens/s" not in closing


def test_one_generated_token_has_no_rate():
    from dataclasses import replace

    from inference.chat.session import Answer
    from inference.commands.ask import how_made
    from inference.question import Question

    one = Answer(Question("open", "How big?"), "24", None, None, [], {"total": 0.31, "tokens_per_second": 0.0},
                 n_tokens=1)
    assert how_made(one) == "1 token, 0.3 s"
    assert how_made(replace(one, n_tokens=5, timings={"total": 1.0, "tokens_per_second": 12.34})) == \
        "5 tokens, 12.3 tokens/s"


SHARED_MODEL_OPTIONS = ("--slices", "--save-model-input", "--relevance")


def _option(command: str, flag: str):
    from inference.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command")  # the sub-commands
    return next(a for a in commands.choices[command]._actions if flag in a.option_strings)


def test_ask_and_batch_help_list_the_model_options(capsys):
    for command in ("ask", "batch"):
        with pytest.raises(SystemExit) as stop:
            main([command, "--help"])
        assert stop.value.code == 0
        out = capsys.readouterr().out
        assert all(flag in out for flag in SHARED_MODEL_OPTIONS), (command, out)


def test_ask_and_batch_declare_the_model_options_alike():
    """One declaration: the same type, metavar and help in both commands; only where
    --save-model-input writes differs (one question's folder, or one per scan and question)."""
    for flag in SHARED_MODEL_OPTIONS:
        ask, batch = _option("ask", flag), _option("batch", flag)
        assert (type(ask), ask.type, ask.metavar, ask.dest) == (type(batch), batch.type, batch.metavar, batch.dest)
        if flag == "--save-model-input":
            assert "this question" in ask.help and "one folder per scan and question" in batch.help
        else:
            assert ask.help == batch.help, flag
