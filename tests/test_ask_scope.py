"""``ctchat ask`` says what the bundle declares: the out-of-region notice before the answer,
the notes beside it, and the same in ``--json``."""

from __future__ import annotations

import json

import pytest

from inference.cli import main
from inference.resources import shared_ct_dir

ABDOMEN = shared_ct_dir() / "nifti" / "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz"


@pytest.fixture()
def abdomen():
    if not ABDOMEN.exists():
        pytest.skip(f"test data missing: {ABDOMEN}")
    return str(ABDOMEN)


def test_ask_json_carries_the_region_and_the_notes(abdomen, capsys):
    assert main(["ask", abdomen, "--task", "yes_no", "--disease", "emphysema", "--max-tokens", "2", "--json",
                 "--no-scan-cache"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["region"]["status"] == "outside" and out["region"]["lung_fraction"] < 0.1
    assert out["notes"][0] == out["region"]["message"]
    assert any(n.startswith("This model was not trained to answer this") for n in out["notes"])
    assert 0.0 <= out["yes_probability"] <= 1.0
    assert out["bundle"]["trained_scope"]["yes/no diseases"] == "lung nodule"


def test_ask_text_warns_before_the_answer(abdomen, capsys):
    assert main(["ask", abdomen, "Write the findings for this CT.", "--max-tokens", "4", "--no-scan-cache"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("ctchat: warning: This scan shows almost no lung")
    assert "is not a negative read" in err  # the report task's caveat: the request went to the report task
