"""Find and retrieve from a real Orthanc over DICOMweb and DIMSE (C-GET and C-MOVE): the voxels
are those of the files loaded directly, and a series is fetched once."""

from __future__ import annotations

import dataclasses

import numpy as np
import pydicom
import pytest
from orthanc_server import CT_SERIES

from inference.io import load_volume
from inference.pacs import StudyQuery, find_studies, retrieve_series


@pytest.fixture(scope="module")
def direct():
    return load_volume(CT_SERIES)


@pytest.mark.parametrize("kind", ["web", "get", "move"])
def test_find_and_retrieve_give_the_voxels_of_the_files(kind, web_node, dimse_node, pacs_cache, direct):
    node = web_node if kind == "web" else dataclasses.replace(dimse_node, retrieve=kind)
    (study,) = find_studies(node, StudyQuery(modality="CT"))
    first = pydicom.dcmread(next(CT_SERIES.glob("*.dcm")), stop_before_pixels=True)
    assert study.study_uid == first.StudyInstanceUID and study.patient_id == first.PatientID
    (series,) = [s for s in study.series if s.modality == "CT"]
    assert series.n_instances == 30
    seen = []
    folder = retrieve_series(node, study.study_uid, series.series_uid, lambda d, t: seen.append((d, t)),
                             cache_root=pacs_cache)
    assert seen[-1] == (30, 30)
    volume = load_volume(folder, series.series_uid)
    assert np.array_equal(volume.voxels, direct.voxels) and np.allclose(volume.affine, direct.affine)
    # a second retrieval reads the cache: nothing fetched again
    again = []
    assert retrieve_series(node, study.study_uid, series.series_uid, lambda d, t: again.append((d, t)),
                           cache_root=pacs_cache) == folder
    assert again == [(30, 30)]


def test_find_filters(web_node, dimse_node):
    for node in (web_node, dimse_node):
        (study,) = find_studies(node, StudyQuery())
        assert study.patient_id
        assert [s.study_uid for s in find_studies(node, StudyQuery(patient_id=study.patient_id))] == [study.study_uid]
        assert find_studies(node, StudyQuery(patient_id="no-such-patient")) == []
        assert find_studies(node, StudyQuery(modality="MR")) == []
        assert find_studies(node, StudyQuery(date_from="19000101", date_to="19000102")) == []
