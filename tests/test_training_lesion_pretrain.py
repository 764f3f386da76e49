"""Lesion pretraining of the 3D encoder: every batch new cases from the lesion-free lungs, the
dense target on the encoder's own grid, the loss learns, and `ctchat pretrain --objective
lesion` hands its encoder to `ctchat train --mae`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.cli import main
from training.data.cases import EVAL_SEED_BASE, TRAIN_SCANS, ScanCases, synthetic_cases
from training.models.config import get_config
from training.models.inputs import recipe_for
from training.stages.lesion_pretrain import FreshLesionBatches, LesionPretrainer, load_encoder
from training.stages.trainer import CHECKPOINT, read_stages

AORTA = "nifti/chest_cta_aorta_crop_totalseg_1p5mm.nii.gz"
A0001 = "dicom/chest_lungdx_A0001_5mm"


@pytest.fixture(scope="module")
def sources(ct_dir):
    return [ScanCases(ct_dir, rel, lesion_free_parts=True) for rel in TRAIN_SCANS]


def test_scan_cases_is_what_synthetic_cases_draws(ct_dir, sources):
    listed = list(synthetic_cases(ct_dir, (AORTA,), 3, 40, crops=True))
    drawn = [sources[1].case(n, 40 + n, crops=True) for n in range(3)]
    for a, b in zip(listed, drawn):
        assert np.array_equal(a.volume.voxels, b.volume.voxels) and a.lesion == b.lesion and a.qas == b.qas


def test_fresh_batches_are_new_cases_half_with_a_lesion_and_their_targets(sources):
    cfg = get_config("tiny")
    batches = FreshLesionBatches(sources, recipe_for(cfg), cfg.vit3d.grid, length=3, batch_size=4)
    assert len(batches) == 3
    seen = []
    for i in range(3):
        x, targets, present = batches[i]
        assert x.shape == (4, 1, 32, 64, 64) and targets.shape == (4, cfg.vit3d.n_tokens)
        # a lesion case marks some tokens (a few, not the scan), a lesion-free one none
        assert present.tolist().count(True) == 2
        assert all((t.sum() > 0) == p and t.sum() < 0.2 * t.size for t, p in zip(targets, present))
        seen += [a.tobytes() for a in x]
    assert len(set(seen)) == len(seen), "no case comes twice"
    with pytest.raises(IndexError):
        batches[3]
    # the A0001 cases come from its lungs below the tumour, never the whole scan with it
    assert all(sources[0].case(1 + k, 1 + k, crops=True).volume.shape[0] <= 38 for k in range(2))
    with pytest.raises(ValueError, match="held-out"):
        FreshLesionBatches(sources, recipe_for(cfg), cfg.vit3d.grid, length=EVAL_SEED_BASE, batch_size=4)


def test_the_lesion_pretrainer_learns_its_batches(sources):
    cfg = get_config("tiny")
    torch.manual_seed(0)
    batches = FreshLesionBatches(sources, recipe_for(cfg), cfg.vit3d.grid, length=2, batch_size=4)
    model = LesionPretrainer(cfg.vit3d)
    optimizer = torch.optim.AdamW(model.configure_stage("lesion"), lr=1e-3)
    first = [float(model(b).detach()) for b in batches]
    for _ in range(15):
        for b in batches:
            loss = model(b)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    last = [float(model(b).detach()) for b in batches]
    assert sum(last) < 0.7 * sum(first), (first, last)
    # presence is read from the largest token logit; after fitting, the lesion cases rank first
    x, _, present = batches[0]
    with torch.no_grad():
        scores = model.presence_scores(torch.as_tensor(x)).numpy()
    assert scores[present].min() > scores[~present].max()


def test_pretrain_lesion_from_mae_then_train(tmp_path, capsys):
    mae, lesion, align = tmp_path / "mae", tmp_path / "lesion", tmp_path / "align"
    assert main(["pretrain", "--out", str(mae), "--steps", "2", "--per-scan", "1"]) == 0
    assert main(["pretrain", "--objective", "lesion", "--out", str(lesion), "--mae", str(mae), "--steps", "2",
                 "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "stage lesion: 2 steps" in out and "3D encoder from the MAE pretraining" in out
    assert [s["stage"] for s in read_stages(lesion)] == ["mae", "lesion"]
    encoder = load_encoder(lesion)
    assert not torch.equal(encoder["blocks.0.attn.q.weight"], load_encoder(mae)["blocks.0.attn.q.weight"])
    assert main(["train", "--stage", "align", "--out", str(align), "--mae", str(lesion), "--steps", "1",
                 "--per-scan", "1"]) == 0
    vision = torch.load(align / CHECKPOINT, weights_only=False)["vision"]
    assert all(torch.equal(vision[f"scan.vit3d.{k}"], v) for k, v in encoder.items())
    with pytest.raises(SystemExit, match="--mae starts a lesion"):
        main(["pretrain", "--out", str(tmp_path / "x"), "--mae", str(mae), "--steps", "1"])
