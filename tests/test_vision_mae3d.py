"""3D masked autoencoder: patching, 75 % masking with a shared mask token, masked-only loss,
learning on a real scan, and handing the encoder to the scan encoder."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.models.config import get_config  # noqa: E402
from training.models.mae3d import MAE3D, MAE3DConfig  # noqa: E402
from training.models.vision_model import build_vision_model  # noqa: E402

CFG = get_config("tiny")
SMALL = MAE3DConfig(width=64, depth=1, heads=4)


def _mae(seed: int = 0) -> MAE3D:
    torch.manual_seed(seed)
    return MAE3D(CFG.vit3d, SMALL)


def test_patchify_roundtrip_and_order_match_the_patch_embedding() -> None:
    mae = _mae()
    vol = torch.rand(2, 1, 32, 64, 64)
    patches = mae.patchify(vol)
    assert patches.shape == (2, 512, 4 * 8 * 8)
    # every voxel lands in exactly one patch; patch n is the block at grid position n (raster order)
    assert torch.equal(patches.flatten(1).sort().values, vol.flatten(1).sort().values)
    (gd, gh, gw), (pd, ph, pw) = CFG.vit3d.grid, CFG.vit3d.patch
    for n in (0, 1, gw, gh * gw, 511):
        d, h, w = np.unravel_index(n, (gd, gh, gw))
        block = vol[:, 0, d * pd:(d + 1) * pd, h * ph:(h + 1) * ph, w * pw:(w + 1) * pw]
        assert torch.equal(patches[:, n], block.reshape(2, -1))
    # token i of the encoder's Conv3d patch embedding sees exactly patch i
    w = mae.encoder.patch_embed.weight.reshape(CFG.vit3d.width, -1)
    by_conv = mae.encoder.patch_embed(vol).flatten(2).transpose(1, 2)
    by_patch = patches @ w.T + mae.encoder.patch_embed.bias
    torch.testing.assert_close(by_conv, by_patch, atol=1e-4, rtol=1e-4)


def test_masking_removes_75_percent_and_uses_one_shared_mask_token() -> None:
    mae = _mae()
    tokens = torch.randn(2, 512, CFG.vit3d.width)
    kept, mask, restore = mae.random_masking(tokens, 0.75, torch.Generator().manual_seed(0))
    assert kept.shape == (2, 128, CFG.vit3d.width)
    assert mask.sum(dim=1).tolist() == [384.0, 384.0]
    assert not torch.equal(mask[0], mask[1])  # a different random mask per sample
    # kept tokens are exactly the unmasked ones, in some order
    vis = tokens[0][mask[0] == 0]
    assert torch.equal(vis.sum(0).round(decimals=3), kept[0].sum(0).round(decimals=3))
    assert sum(p.numel() for n, p in mae.named_parameters() if "mask_token" in n) == SMALL.width


def test_loss_reads_only_masked_patches() -> None:
    mae = _mae()
    vol = torch.rand(1, 1, 32, 64, 64)
    _, pred, mask = mae(vol, generator=torch.Generator().manual_seed(1))
    changed = pred.detach().clone()
    changed[mask == 0] += 10.0  # corrupt the predictions of visible patches only
    assert torch.isclose(mae.loss(vol, changed, mask), mae.loss(vol, pred.detach(), mask))
    changed[mask == 1] += 10.0
    assert mae.loss(vol, changed, mask) > mae.loss(vol, pred.detach(), mask) + 1.0


def test_mae_learns_on_a_real_scan_and_feeds_the_scan_encoder(a0001_dicom) -> None:
    from training.models.inputs import model_input

    vol = torch.from_numpy(model_input(CFG, a0001_dicom))
    mae = _mae(0)
    opt = torch.optim.AdamW(mae.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    eval_g = lambda: torch.Generator().manual_seed(123)  # noqa: E731  same mask before/after
    with torch.no_grad():
        before = float(mae(vol, generator=eval_g())[0])
    for _ in range(10):
        loss, _, _ = mae(vol, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(mae(vol, generator=eval_g())[0])
    assert after < 0.85 * before, (before, after)  # measured: 1.33 -> 1.01
    scan_model = build_vision_model(CFG)
    scan_model.scan.vit3d.load_state_dict(mae.encoder.state_dict())
    with torch.inference_mode():
        np.testing.assert_allclose(scan_model.scan.vit3d(vol).numpy(), mae.encoder(vol).numpy(),
                                   rtol=0, atol=0)
