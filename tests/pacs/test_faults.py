"""Each way a PACS fails is one sentence, and nothing already retrieved is lost."""

from __future__ import annotations

import dataclasses

import pytest
from orthanc_server import free_port

from inference.cli import main
from inference.pacs import PacsError, StudyQuery, echo, find_studies, retrieve_series


def one_series(node):
    (study,) = find_studies(node, StudyQuery(modality="CT"))
    (series,) = [s for s in study.series if s.modality == "CT"]
    return study.study_uid, series.series_uid


@pytest.mark.parametrize("kind", ["web", "dimse"])
def test_a_server_stopped_midway_then_a_rerun_resumes(kind, orthanc, web_node, dimse_node, pacs_cache):
    node = web_node if kind == "web" else dimse_node
    study, series = one_series(node)

    def kill_at_ten(done, total):
        if done >= 10:
            orthanc.kill()

    try:
        with pytest.raises(PacsError) as err:
            retrieve_series(node, study, series, kill_at_ten, cache_root=pacs_cache)
    finally:
        orthanc.start()  # the same storage: the next tests see the same PACS
    assert "\n" not in str(err.value)
    kept = list((pacs_cache / study / series).glob("*.dcm"))
    assert 10 <= len(kept) < 30
    seen = []
    retrieve_series(node, study, series, lambda d, t: seen.append(d), cache_root=pacs_cache)
    assert seen[0] == len(kept) and seen[-1] == 30  # only the missing ones were fetched


def test_wrong_password_is_one_sentence(web_node):
    with pytest.raises(PacsError, match="refused the credentials"):
        echo(dataclasses.replace(web_node, password="wrong"))


def test_wrong_ae_title_is_one_sentence(dimse_node):
    with pytest.raises(PacsError, match="rejected the association.*AE title"):
        echo(dataclasses.replace(dimse_node, aet="NOT_ORTHANC"))


def test_unknown_calling_ae_is_one_sentence(dimse_node):
    with pytest.raises(PacsError, match="our AE title"):
        find_studies(dataclasses.replace(dimse_node, our_aet="STRANGER"), StudyQuery())


@pytest.mark.parametrize("args", [["--dicomweb", "http://127.0.0.1:{port}/dicom-web"],
                                  ["--dimse", "127.0.0.1:{port}", "--aet", "ANY"]])
def test_a_node_that_does_not_answer_is_one_line(args, capsys):
    port = free_port()
    assert main(["pacs", "echo", *[a.format(port=port) for a in args], "--timeout", "3"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ctchat: ") and "did not answer" in err and "\n" not in err
