"""Fitting the location codes' gate alone on the frozen 3D encoder, before a stage.

With the codes on the encoder's grid (``location_grid="encoder"``), the gate is a linear head
on the encoder's tokens: the same shape as the head of the lesion pretraining
(:class:`~.lesion_pretrain.LesionPretrainer`), which the encoder was trained with and which is
not kept in a bundle. A model moved onto that grid from a bundle therefore starts with a closed,
untrained gate; this refits it, on new insertions and crops in every batch and with the
pretraining's loss, while the encoder stays as it is (stage 2 keeps it frozen), so the stage
starts from a gate that already finds lesions.

Example:
    >>> batches = FreshLesionBatches(sources, recipe_for(cfg), cfg.vit3d.grid, 300)  # doctest: +SKIP
    >>> losses = fit_location_gate(model.vision, batches)                             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm import tqdm

from .lesion_pretrain import LesionBatch, LesionPretrainer


def fit_location_gate(vision: torch.nn.Module, batches: Sequence[LesionBatch], lr: float = 1e-2,
                      case_weight: float = 1.0) -> list[float]:
    """Train ``vision``'s location gate (a linear head on its 3D encoder's tokens) on ``batches``
    with the lesion pretraining's loss, the encoder frozen; the fitted head replaces the gate.
    Returns the loss of every batch."""
    location = vision.scan.location
    if location is None or location.head.in_features != vision.cfg.vit3d.width:
        raise ValueError("the gate can be fitted alone only for location codes on the 3D encoder's grid "
                         "(location_grid='encoder')")
    probe = LesionPretrainer(vision.cfg.vit3d, case_weight)
    probe.encoder.load_state_dict(vision.scan.vit3d.state_dict())
    probe.head.load_state_dict(location.head.state_dict())
    probe.encoder.eval().requires_grad_(False)  # (no dropout: the tokens the stage will see)
    optimizer = torch.optim.AdamW(probe.head.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for batch in tqdm(batches, desc="location gate"):
        loss = probe(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    location.head.load_state_dict(probe.head.state_dict())
    return losses
