"""3D MAE pretraining of the scan encoder's ViT (E3D-GPT's first stage), driven by the same
training loop as the other stages (:func:`training.stages.trainer.train`).

Unlabelled volumes are enough: the training scans (with and without synthetic lesions) and the
other real scans that are not held out for evaluation (:data:`PRETRAIN_EXTRA_SCANS`). Each step
draws one volume and augments it (random flips and a small shift along each axis, and a random
contrast/brightness change), since a handful of scans is all there is.

Example:
    >>> import numpy as np
    >>> from training.models.config import get_config
    >>> pre = MAEPretrainer(get_config("tiny").vit3d, MAE3DConfig(width=64, depth=1, heads=4))
    >>> params = pre.configure_stage("mae")
    >>> float(pre(np.random.rand(1, 1, 32, 64, 64).astype("float32"))) > 0
    True
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from training.models.config import ViT3DConfig
from training.models.mae3d import MAE3D, MAE3DConfig

# real scans that are neither training nor evaluation scans of the synthetic set: unlabelled
# anatomy for the encoder (abdomen, pelvis); the evaluation scans are never among them
PRETRAIN_EXTRA_SCANS = ("dicom/upperabd_totalseg_j2k_20sl", "nifti/abdomen_pelvis_totalseg_example_ct_3mm.nii.gz")
SMALL_DECODER = MAE3DConfig(width=128, depth=2, heads=4)  # for the tiny encoder on a CPU


class MAEPretrainer(nn.Module):
    """:class:`MAE3D` with augmentation; ``forward(volume_array)`` returns the masked-patch loss."""

    def __init__(self, vit: ViT3DConfig, cfg: MAE3DConfig = SMALL_DECODER, seed: int = 0) -> None:
        super().__init__()
        self.mae = MAE3D(vit, cfg)
        self._rng = np.random.default_rng(seed)

    def configure_stage(self, stage: str) -> list[nn.Parameter]:
        """Everything trains (encoder and decoder); the only stage is ``"mae"``."""
        if stage != "mae":
            raise ValueError(f"MAE pretraining has one stage, 'mae', not {stage!r}")
        for p in self.parameters():
            p.requires_grad_(True)
        return list(self.parameters())

    def augment(self, volume: np.ndarray) -> np.ndarray:
        """A random flip per axis, a shift of up to 1/16 of each axis, and contrast/brightness."""
        x = np.asarray(volume, dtype=np.float32).reshape(volume.shape[-3:])
        for axis in range(3):
            if self._rng.random() < 0.5:
                x = np.flip(x, axis)
            x = np.roll(x, int(self._rng.integers(-(x.shape[axis] // 16), x.shape[axis] // 16 + 1)), axis)
        x = x * self._rng.uniform(0.9, 1.1) + self._rng.uniform(-0.05, 0.05)
        return np.ascontiguousarray(x[None, None], dtype=np.float32)

    def forward(self, volume: np.ndarray) -> torch.Tensor:
        x = self.augment(volume) if self.training else np.asarray(volume, dtype=np.float32)
        loss, _, _ = self.mae(torch.from_numpy(x).to(self.mae.mask_token.device))
        return loss


def encoder_state(checkpoint_trainable: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The pretrained ViT's weights from a pretraining checkpoint (MAE, or lesion pretraining
    of :mod:`.lesion_pretrain`), named as in ``ViT3D``."""
    for prefix in ("mae.encoder.", "encoder."):
        state = {k[len(prefix):]: v for k, v in checkpoint_trainable.items() if k.startswith(prefix)}
        if state:
            return state
    raise ValueError("this checkpoint holds no pretrained 3D encoder (was it written by `ctchat pretrain`?)")
