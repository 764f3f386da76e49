"""Loading a published state dict (or a prefixed part of one) into one of our modules, strictly.

Every module in this package names its parameters exactly as the published checkpoint does, so
loading is: take the keys under a prefix, strip it, drop the keys the module declares unused on
purpose (its ``UNUSED_KEYS`` regular expressions, e.g. the cross-attention that MONAI >= 1.4
adds to every transformer block and never runs), and ``load_state_dict(strict=True)``. Anything
else missing, unexpected or of the wrong shape is an error that says which keys.

Example:
    >>> from torch import nn
    >>> lin = nn.Linear(2, 3)
    >>> load_published(lin, {"model.proj.weight": lin.weight.detach() * 0,
    ...                      "model.proj.bias": lin.bias.detach() * 0}, "model.proj.")
    []
    >>> float(lin.weight.abs().sum())
    0.0
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn

_SHOWN = 5  # keys named in an error message before "and N more"


class CheckpointError(ValueError):
    """A published checkpoint (weights or configuration) does not fit the module built for
    it; the message is one sentence a user can act on."""


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else "")


def sub_state_dict(state_dict: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries whose key starts with ``prefix``, with the prefix removed."""
    sub = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not sub:
        raise CheckpointError(f"the checkpoint has no weights under '{prefix}'"
                           if prefix else "the checkpoint holds no weights")
    return sub


def unused_keys(module: nn.Module, keys: list[str]) -> list[str]:
    """The keys among ``keys`` that ``module`` declares deliberately unused (``UNUSED_KEYS``)."""
    patterns = [re.compile(p) for p in getattr(module, "UNUSED_KEYS", ())]
    return [k for k in keys if any(p.match(k) for p in patterns)]


def load_published(module: nn.Module, state_dict: Mapping[str, torch.Tensor],
                   prefix: str = "") -> list[str]:
    """Load the part of ``state_dict`` under ``prefix`` into ``module`` with ``strict=True``.

    Returns the keys dropped as declared-unused (after the prefix), so a caller can report them.
    Raises :class:`CheckpointError` naming the missing, unexpected or mis-shaped keys.
    """
    sub = sub_state_dict(state_dict, prefix)
    dropped = unused_keys(module, sorted(sub))
    for k in dropped:
        del sub[k]
    own = module.state_dict()
    missing = sorted(set(own) - set(sub))
    unexpected = sorted(set(sub) - set(own))
    where = f" under '{prefix}'" if prefix else ""
    if missing:
        raise CheckpointError(f"the checkpoint lacks {len(missing)} weights{where} that "
                           f"{type(module).__name__} needs: {_listing(missing)}")
    if unexpected:
        raise CheckpointError(f"the checkpoint has {len(unexpected)} weights{where} that "
                           f"{type(module).__name__} does not know: {_listing(unexpected)}")
    wrong = [f"{k} {tuple(sub[k].shape)} (expected {tuple(own[k].shape)})"
             for k in sorted(own) if tuple(sub[k].shape) != tuple(own[k].shape)]
    if wrong:
        raise CheckpointError(f"{len(wrong)} weights{where} have another shape than "
                           f"{type(module).__name__} was built for: {_listing(wrong)}")
    module.load_state_dict(sub, strict=True)
    return dropped
