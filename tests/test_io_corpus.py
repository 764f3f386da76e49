"""The bad-input corpus (tests/io_corpus.py) through the loader, ``ctchat info`` and ``ctchat ask``:
each case gets one clear sentence or a warning, never a traceback, never NaN, never a silent
wrong result."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from inference import cli
from inference.io import CTLoadError, list_series, load_volume
from inference.io.loader import default_series

from io_corpus import CASES, build_corpus, is_sentence

NAMES = [c.name for c in CASES]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, ct_dir):
    return build_corpus(tmp_path_factory.mktemp("corpus"), ct_dir)


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity (which are not JSON)."""

    def refuse(token):
        raise AssertionError(f"{token} in the JSON output")

    return json.loads(text, parse_constant=refuse)


def test_the_corpus_covers_every_outcome():
    assert len(CASES) >= 60
    assert {c.expect for c in CASES} == {"error", "warning", "ok"}
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_loading_gives_a_sentence_or_a_finite_volume(corpus, name):
    case, path = corpus[name]
    if case.expect == "error":
        with pytest.raises(CTLoadError) as err:
            load_volume(path)
        message = str(err.value)
        assert is_sentence(message), message
        assert re.search(case.match, message), message
        return
    vol = load_volume(path)
    assert np.all(np.isfinite(vol.voxels)) and np.all(np.isfinite(vol.affine))
    assert np.all(np.isfinite(vol.slice_positions))
    codes = {w.code for w in vol.warnings}
    assert all(is_sentence(w.message) for w in vol.warnings), [w.message for w in vol.warnings]
    if case.expect == "warning":
        assert case.match in codes, [w.message for w in vol.warnings]
    elif case.match:
        assert case.match not in codes, [w.message for w in vol.warnings]


@pytest.mark.parametrize("name", NAMES)
def test_info_describes_every_series_each_with_its_status(corpus, name, capsys):
    case, path = corpus[name]
    rc = cli.main(["info", str(path), "--json"])
    out, err = capsys.readouterr()
    if rc != 0 and not out:  # nothing to list: one sentence on stderr
        assert case.expect == "error"
        assert err.startswith("ctchat: ") and is_sentence(err), err
        return
    report = strict_json(out)
    assert report["series"], "every series is listed"
    for entry in report["series"]:
        assert entry["status"] in ("loaded", "not loaded", "cannot be loaded")
        if entry["status"] != "loaded":
            assert is_sentence(entry["reason"]), entry["reason"]
    assert rc == (0 if any(e["status"] == "loaded" for e in report["series"]) else 1)


def test_a_folder_with_a_localizer_lists_it_apart_and_offers_the_volume(corpus):
    _case, path = corpus["localizer_beside_the_volume"]
    series = list_series(path)
    kinds = sorted(s.kind for s in series)
    assert kinds == ["CT volume", "localizer"]
    scout = next(s for s in series if s.kind == "localizer")
    assert not scout.loadable and "localizer" in scout.status
    assert default_series(series).n_slices == 6
    with pytest.raises(CTLoadError, match="not shown as a volume or sent to the model"):
        load_volume(path, scout.uid)


def test_series_are_grouped_by_study_and_the_largest_axial_ct_is_offered(corpus):
    _case, path = corpus["two_studies"]
    series = list_series(path)
    assert len({s.study_uid for s in series}) == 2
    studies = [s.study_uid for s in series]
    assert studies == sorted(studies, key=studies.index), "series of one study are listed together"
    assert default_series(series).n_slices == 6


def test_an_unreadable_subfolder_is_reported_not_skipped_silently(corpus, monkeypatch):
    _case, path = corpus["series_in_nested_folders"]
    real = os.scandir

    def refuse(p="."):
        if str(p).endswith("part1"):
            raise PermissionError(13, "Permission denied", str(p))
        return real(p)

    monkeypatch.setattr(os, "scandir", refuse)
    vol = load_volume(path)
    (skipped,) = [w for w in vol.warnings if w.code == "skipped_files"]
    assert "part1" in skipped.message and "permission denied" in skipped.message


def test_an_unexpected_failure_is_one_sentence_and_a_log_file(corpus, monkeypatch, tmp_path, capsys):
    from inference.commands import info

    monkeypatch.setenv("CTCHAT_DATA_DIR", str(tmp_path))

    def broken(_path, **_kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(info, "read_dicom_folder", broken)
    assert cli.main(["info", str(corpus["single_slice"][1])]) == 1
    err = capsys.readouterr().err
    assert is_sentence(err) and "bug in ctchat" in err
    (log,) = (tmp_path / "logs").iterdir()
    assert "ZeroDivisionError: a bug" in log.read_text()
    assert log.name.startswith("ctchat-") and str(log) in err


@pytest.mark.parametrize("name", NAMES)
def test_ask_answers_or_says_why_not_and_its_json_holds_no_nan(corpus, name, capsys):
    case, path = corpus[name]
    rc = cli.main(["ask", str(path), "Is there a nodule?", "--json", "--max-tokens", "2"])
    out, err = capsys.readouterr()
    if case.expect == "error":
        assert rc == 1 and not out
        assert err.startswith("ctchat: ") and is_sentence(err), err
        return
    assert rc == 0, err
    result = strict_json(out)
    assert isinstance(result["answer"], str)
    if result["slice_scores"] is not None:
        assert all(np.isfinite(result["slice_scores"]["original_slices"]))
