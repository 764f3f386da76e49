"""``ctchat ask`` and ``ctchat batch`` with a slice-set bundle (the tiny random Gemma 3):
``--slices``, ``--save-model-input`` (checked against an independent rendering of the stored
slices), ``--json``'s sent slices, the estimate and progress lines, and the scans the recipe
refuses, each in one sentence."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest.importorskip("torch", reason="the tiny Gemma 3 is written with torch (the train extra)")
pytest.importorskip("transformers", reason="the tiny Gemma 3 is written with transformers (the train extra)")

from tiny_bundle import make_tiny_bundle  # noqa: E402

from inference.batch.results import read_results  # noqa: E402
from inference.bundle import MANIFEST, load_bundle, write_manifest  # noqa: E402
from inference.cli import main  # noqa: E402
from inference.commands.ask import duration  # noqa: E402
from inference.io import load_volume  # noqa: E402
from inference.resources import resource_path  # noqa: E402
from inference.slices.recipe import MEDGEMMA_INSTRUCTION  # noqa: E402

QUESTION = "Is there a nodule in the right lung?"
WINDOWS = ((-1024, 1024), (-135, 215), (0, 80))  # MedGemma 1.5's notebook: R, G, B


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return make_tiny_bundle(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def demo() -> Path:
    return resource_path("demo", "chest_lungdx_A0001_5mm.nii.gz")


@pytest.fixture(autouse=True)
def fresh_data_dir(tmp_path: Path, monkeypatch) -> Path:
    """Each test its own data folder: no per-slice time measured by an earlier test or run."""
    folder = tmp_path / "data"
    monkeypatch.setenv("CTCHAT_DATA_DIR", str(folder))
    return folder


def ask(bundle: Path, scan: Path, *extra: str) -> int:
    return main(["ask", str(scan), QUESTION, "--bundle", str(bundle), "--max-tokens", "2", "--device", "cpu",
                 "--no-scan-cache", *extra])


def notebook_slices(n_stored: int, budget: int) -> list[int]:
    """MedGemma 1.5's notebook: ``[s[round(i / N * (n - 1))] for i in 1..N]`` (all when fewer)."""
    if n_stored <= budget:
        return list(range(n_stored))
    return [round(i / budget * (n_stored - 1)) for i in range(1, budget + 1)]


def rendered(hu: np.ndarray) -> np.ndarray:
    """One stored slice as the notebook renders it: each window mapped to 0..255 and rounded."""
    hu = hu.astype(np.float64)
    return np.stack([np.round(np.clip((hu - lo) / (hi - lo), 0, 1) * 255) for lo, hi in WINDOWS], -1).astype(np.uint8)


def test_saved_slices_and_prompt_are_the_notebooks(bundle: Path, demo: Path, tmp_path: Path, capfd) -> None:
    from PIL import Image

    folder = tmp_path / "input"
    assert ask(bundle, demo, "--slices", "4", "--save-model-input", str(folder)) == 0
    err = capfd.readouterr().err
    assert "encoding 4 slices (first run on this machine: no estimate yet)" in err
    assert "encoded 4/4 slices" in err and f"the model's input for this question is in {folder}" in err

    stored = load_volume(demo).as_stored().voxels
    picked = notebook_slices(len(stored), 4)
    assert picked == [16, 32, 47, 63]
    pngs = sorted((folder / "slices").glob("*.png"))
    assert [p.name for p in pngs] == ["000.png", "001.png", "002.png", "003.png"]
    for png, k in zip(pngs, picked):
        image = np.asarray(Image.open(png))
        assert image.dtype == np.uint8 and image.shape == (*stored.shape[1:], 3)
        assert np.array_equal(image, rendered(stored[k])), png.name

    content = [{"type": "text", "text": MEDGEMMA_INSTRUCTION}]
    for n in range(4):
        content += [{"type": "image", "file": f"slices/{n:03d}.png"}, {"type": "text", "text": f"SLICE {n + 1}"}]
    content.append({"type": "text", "text": QUESTION})  # the tiny bundle's open prompt is the question
    assert json.loads((folder / "prompt.json").read_text()) == {"messages": [{"role": "user", "content": content}]}
    sent = json.loads((folder / "sent.json").read_text())
    assert sent["stored_slices"] == [k + 1 for k in picked] and sent["n_stored_slices"] == len(stored)


def test_json_says_which_stored_slices_were_sent(bundle: Path, demo: Path, capfd) -> None:
    assert ask(bundle, demo, "--slices", "3", "--json") == 0
    out, err = capfd.readouterr()
    report = json.loads(out)
    assert report["sent_slices"] == {"slice_grid": "stored", "n_slices": 64,
                                     "slices": [k + 1 for k in notebook_slices(64, 3)]}
    assert report["slice_scores"] is None and report["bundle"]["kind"] == "slice_set"
    for key in ("question", "task", "answer", "timings_s", "n_tokens", "yes_probability", "choice", "notes",
                "region", "scan_cache", "providers", "llm_offload", "warnings"):
        assert key in report
    assert "encoded" not in err  # --json: no progress lines


def test_a_measured_cost_is_said_before_a_long_encode(bundle: Path, demo: Path, fresh_data_dir: Path, capfd) -> None:
    from inference.chat.slice_cost import SliceCost

    cost = SliceCost(load_bundle(bundle).identity())
    assert cost.path.is_relative_to(fresh_data_dir)
    cost.times = [30.0]  # as if a slice had taken 30 s here
    cost.save()
    assert ask(bundle, demo, "--slices", "4") == 0
    assert "ctchat: encoding 4 slices: about 2 min on this machine (measured per slice)" in capfd.readouterr().err


def test_durations_read_as_a_person_says_them() -> None:
    assert [duration(s) for s in (7.4, 60, 85, 3600, 3899)] == ["7 s", "1 min", "1 min 25 s", "1 h", "1 h 5 min"]


def test_ctrl_c_while_encoding_exits_130(bundle: Path, demo: Path, monkeypatch) -> None:
    from inference.llm.projector import VisionProjector

    def interrupted(self, image):
        raise KeyboardInterrupt

    monkeypatch.setattr(VisionProjector, "encode", interrupted)
    assert ask(bundle, demo, "--slices", "2") == 130


def test_too_few_slices_for_the_recipe_is_one_sentence(bundle: Path, demo: Path, tmp_path: Path, capfd) -> None:
    strict = tmp_path / "strict"
    shutil.copytree(bundle, strict)
    manifest = json.loads((strict / MANIFEST).read_text())
    manifest["slice_recipe"]["min_slices"] = 100  # the demo has 64
    write_manifest(strict, manifest, files=[])
    assert ask(strict, demo, "--slices", "4") == 1
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "64 slices" in err and "at least 100" in err, err
    assert "encoding" not in err  # no promise of an encode that will not happen


def test_a_sagittal_series_is_refused_in_one_sentence(bundle: Path, demo: Path, tmp_path: Path, capfd) -> None:
    import nibabel as nib

    image = nib.load(demo)
    data = np.asanyarray(image.dataobj)[::4, ::4, :]  # small: the refusal does not depend on size
    affine = image.affine.copy()
    affine[:, :2] *= 4
    # the stored slices now stack along x (left-right): the file's third axis is the patient's x
    sagittal = nib.Nifti1Image(np.ascontiguousarray(data.transpose(2, 1, 0)), affine[:, [2, 1, 0, 3]])
    path = tmp_path / "sagittal.nii.gz"
    nib.save(sagittal, path)
    assert load_volume(path).metadata["source_orientation"][2] in "LR"
    assert ask(bundle, path, "--slices", "4") == 1
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "acquired sagittal" in err and "axial" in err, err
    assert "encoding" not in err  # no promise of an encode that will not happen


def test_batch_saves_one_folder_per_scan_and_question(bundle: Path, demo: Path, ct_dir: Path, tmp_path: Path) -> None:
    from PIL import Image

    scans = tmp_path / "scans" / "Jane_Doe_1950"  # a folder named as clinics name them
    scans.mkdir(parents=True)
    shutil.copy(demo, scans / "chest.nii.gz")
    shutil.copy(ct_dir / "nifti" / "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz", scans / "abdomen.nii.gz")
    out, sheet, saved = tmp_path / "r.jsonl", tmp_path / "r.csv", tmp_path / "inputs"
    assert main(["batch", str(scans), "--out", str(out), "--csv", str(sheet), "--bundle", str(bundle),
                 "--question", QUESTION, "--question", "Where is the liver?", "--slices", "3",
                 "--save-model-input", str(saved), "--scan-id", "path", "--max-tokens", "2", "--device", "cpu",
                 "--no-scan-cache"]) == 0
    lines = read_results(out)
    assert len(lines) == 4 and all("error" not in r for r in lines)
    folders = sorted(p.name for p in saved.iterdir())
    assert folders == ["scan0001_q1", "scan0001_q2", "scan0002_q1", "scan0002_q2"]  # no scan or folder names
    assert sorted(r["model_input"] for r in lines) == folders
    for r in lines:
        folder = saved / r["model_input"]
        assert len(r["sent_slices"]["slices"]) == 3 and r["sent_slices"]["slice_grid"] == "stored"
        assert len(list((folder / "slices").glob("*.png"))) == 3
        content = json.loads((folder / "prompt.json").read_text())["messages"][0]["content"]
        assert content[-1]["text"] == r["question"]
        n_stored = r["sent_slices"]["n_slices"]
        assert r["sent_slices"]["slices"] == [k + 1 for k in notebook_slices(n_stored, 3)]
        volume = load_volume(scans / Path(r["scan_id"]).name).as_stored()
        first = np.asarray(Image.open(folder / "slices" / "000.png"))
        assert np.array_equal(first, rendered(volume.voxels[r["sent_slices"]["slices"][0] - 1]))
    rows = list(csv.DictReader(sheet.read_text(encoding="utf-8").splitlines()))
    by_folder = {row["model_input"]: row for row in rows}
    for r in lines:
        assert by_folder[r["model_input"]]["sent_slices"] == " ".join(map(str, r["sent_slices"]["slices"]))
