"""Configurations of the vision side as frozen dataclasses, with the published shapes as presets.

Presets:

* ``"m3d"``: M3D-CLIP / Med-2E3. Input 32 x 256 x 256, 3D ViT patch 4 x 16 x 16, width 768,
  12 layers (8 x 16 x 16 = 2048 tokens), 2 x 2 x 2 average pooling + MLP -> 256 tokens; a 2D
  ViT-B/16 at 256 x 256 on each of the 32 axial slices (the role SigLIP plays in Med-2E3).
* ``"e3d_gpt"``: E3D-GPT. Input 112 x 224 x 224, patch 8 x 16 x 16, width 1536
  (14^3 = 2744 tokens), Conv3d perceiver kernel = stride = 2 -> 343 tokens.
* ``"tiny"``: CPU / test size, input 32 x 64 x 64, width 96, 2 layers.
* ``"tiny_conv"``: ``"tiny"`` with a convolutional stem instead of the linear patch embedding
  (three 3 x 3 x 3 convolutions, 16-32-64 channels): at 64 x 64 a nodule spans 1-3 pixels, and
  local filters see it before a patch token mixes it with 255 other pixels.
* ``"tiny_loc"``: ``"tiny_conv"`` with lesion-gated location codes on its image tokens
  (:attr:`PerceiverConfig.location_codes`): the default bundle's configuration.

All presets project into the LLM hidden size (640, Gemma 3 270M) by default.

Example:
    >>> from training.models.config import get_config
    >>> cfg = get_config("m3d", perceiver="conv3d")
    >>> cfg.vit3d.grid, cfg.perceiver_grid, cfg.n_tokens_3d
    ((8, 16, 16), (4, 8, 8), 256)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

PERCEIVER_KINDS = ("pool_mlp", "conv3d", "mixer", "qformer")
TGIS_MODES = ("tgis", "average", "max", "random")


def _div(a: int, b: int, what: str) -> int:
    if a % b:
        raise ValueError(f"{what}: {a} is not divisible by {b}")
    return a // b


@dataclass(frozen=True)
class ViT3DConfig:
    """A ViT over non-overlapping 3D patches (depth, height, width order)."""

    input_shape: tuple[int, int, int] = (32, 256, 256)
    patch: tuple[int, int, int] = (4, 16, 16)
    width: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    # "linear": one Conv3d with kernel = stride = patch (the papers' ViT). "conv": a stack of
    # 3 x 3 x 3 stride-2 convolutions down to the patch grid, then a 1 x 1 x 1 projection (the
    # "early convolutions" stem of Xiao et al. 2021, in 3D): small structures such as a nodule
    # of 2-3 voxels are seen by local filters before they are mixed into a patch token.
    stem: str = "linear"
    stem_channels: int = 32  # channels after the first stem convolution, doubled at each one

    def __post_init__(self) -> None:
        if self.stem not in ("linear", "conv"):
            raise ValueError(f"3D ViT stem {self.stem!r} not in ('linear', 'conv')")
        if self.stem == "conv":
            for p in self.patch:
                if p & (p - 1):
                    raise ValueError(f"a conv stem needs power-of-two patch sizes, got {self.patch}")

    @property
    def grid(self) -> tuple[int, int, int]:
        """Token grid ``(d, h, w)`` = input shape / patch."""
        return tuple(_div(s, p, "3D patch grid") for s, p in zip(self.input_shape, self.patch))

    @property
    def n_tokens(self) -> int:
        d, h, w = self.grid
        return d * h * w


@dataclass(frozen=True)
class SliceEncoderConfig:
    """A 2D ViT applied to every axial slice, then a 2D connector (pooling + MLP to hidden)."""

    image_size: tuple[int, int] = (256, 256)
    patch: int = 16
    width: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    pool: int = 2  # 2D average pooling of the token grid before the connector MLP

    @property
    def grid(self) -> tuple[int, int]:
        """Token grid of one slice ``(h, w)``."""
        return tuple(_div(s, self.patch, "2D patch grid") for s in self.image_size)

    @property
    def n_tokens(self) -> int:
        """2D tokens per slice after the connector's pooling."""
        h, w = self.grid
        return _div(h, self.pool, "2D pooling") * _div(w, self.pool, "2D pooling")


@dataclass(frozen=True)
class PerceiverConfig:
    """Which perceiver (3D connector) maps ViT tokens to LLM-width image tokens.

    ``kind``: ``"pool_mlp"`` (M3D, Med-2E3: k x k x k average pooling, Linear-GELU-Linear),
    ``"conv3d"`` (E3D-GPT: Conv3d kernel = stride = k), ``"mixer"`` (Med3DVLM: dual-stream
    MLP-Mixer over low- and high-level tokens) or ``"qformer"`` (learnable queries with
    cross-attention, the ablation baseline). ``n_queries`` is the output token count of
    ``mixer`` and ``qformer``; ``None`` means "as many as pooling by k would give".

    ``location_codes`` (spatial kinds only) appends a location token: the learned codes of the
    grid cells, weighted by how lesion-like each cell's token is
    (:class:`~.perceivers.LocationCodes`). It says where a lesion is in the LLM's own terms
    (the codes start as its words for each cell's place), which a small LLM reads far more
    easily than a token's rank among 64. One token names the place (its codes start as the sum
    of the side's and the third's words); the codes and their lesion gate are per perceiver
    token (``tiny``: 4 x 4 x 4 cells).
    """

    kind: str = "pool_mlp"
    k: int = 2
    n_queries: int | None = None
    layers: int = 2  # Q-Former cross-attention layers
    heads: int = 8
    location_codes: bool = False

    def __post_init__(self) -> None:
        if self.kind not in PERCEIVER_KINDS:
            raise ValueError(f"perceiver kind {self.kind!r} not in {PERCEIVER_KINDS}")
        if self.location_codes and self.kind not in ("pool_mlp", "conv3d"):
            raise ValueError("location codes need a perceiver whose tokens keep the grid (pool_mlp, conv3d)")


@dataclass(frozen=True)
class TGISConfig:
    """Text-guided inter-slice scoring (Med-2E3) and its ablations.

    ``mode``: ``"tgis"`` (softmax of text . slice feature), ``"average"``, ``"max"``, ``"random"``.
    ``temperature``: logits are divided by it (paper: 1; the released code: 5).
    ``proj_dim``: ``None`` scores in the LLM hidden space directly (paper); an int adds learned
    linear projections of the text vector and the slice features into a shared space of that
    size (as the released code projects its text vector).
    """

    mode: str = "tgis"
    temperature: float = 1.0
    proj_dim: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in TGIS_MODES:
            raise ValueError(f"TG-IS mode {self.mode!r} not in {TGIS_MODES}")
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0")


@dataclass(frozen=True)
class VisionConfig:
    """Everything that defines the vision side of one model bundle."""

    name: str = "m3d"
    vit3d: ViT3DConfig = field(default_factory=ViT3DConfig)
    slice_encoder: SliceEncoderConfig = field(default_factory=SliceEncoderConfig)
    perceiver: PerceiverConfig = field(default_factory=PerceiverConfig)
    tgis: TGISConfig = field(default_factory=TGISConfig)
    hidden: int = 640  # LLM hidden size (Gemma 3 270M)

    def __post_init__(self) -> None:
        _ = self.perceiver_grid, self.slice_encoder.n_tokens  # validate divisibility early
        if self.vit3d.width % self.vit3d.heads or self.slice_encoder.width % self.slice_encoder.heads:
            raise ValueError("width must be divisible by heads")
        if self.hidden % self.perceiver.heads:
            raise ValueError("hidden must be divisible by perceiver heads")

    @property
    def n_slices(self) -> int:
        """Axial slices of the model input (D)."""
        return self.vit3d.input_shape[0]

    @property
    def perceiver_grid(self) -> tuple[int, int, int] | None:
        """Token grid after the perceiver, or ``None`` when its tokens have no spatial layout."""
        if self.perceiver.kind in ("pool_mlp", "conv3d"):
            return tuple(_div(g, self.perceiver.k, "perceiver k") for g in self.vit3d.grid)
        return None

    @property
    def lesion_grid(self) -> tuple[int, int, int] | None:
        """Grid of the per-token lesion logits (the perceiver's)."""
        return self.perceiver_grid

    @property
    def n_tokens_3d(self) -> int:
        """3D image tokens handed to the LLM (with location codes: the grid's and the location tokens)."""
        grid = self.perceiver_grid
        if grid is not None:
            return grid[0] * grid[1] * grid[2] + int(self.perceiver.location_codes)
        if self.perceiver.n_queries is not None:
            return self.perceiver.n_queries
        return max(1, self.vit3d.n_tokens // self.perceiver.k**3)

    @property
    def n_tokens_2d(self) -> int:
        """Aggregated 2D tokens appended after the 3D tokens."""
        return self.slice_encoder.n_tokens

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (stored in the ONNX metadata)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "VisionConfig":
        """Inverse of :meth:`to_dict`."""
        t = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
        return cls(
            name=d["name"],
            vit3d=ViT3DConfig(**{k: t(v) for k, v in d["vit3d"].items()}),
            slice_encoder=SliceEncoderConfig(**{k: t(v) for k, v in d["slice_encoder"].items()}),
            perceiver=PerceiverConfig(**_perceiver_fields(d["perceiver"])),
            tgis=TGISConfig(**d["tgis"]),
            hidden=d["hidden"],
        )


# Written by bundles before two experimental options were removed (their shipped values only):
# one location token on the perceiver's grid.
_REMOVED_PERCEIVER_FIELDS = {"location_words": 1, "location_grid": "perceiver"}


def _perceiver_fields(recorded: dict[str, Any]) -> dict[str, Any]:
    """A recorded perceiver config without the removed fields (which must hold what is built now)."""
    fields = dict(recorded)
    for name, built in _REMOVED_PERCEIVER_FIELDS.items():
        if fields.pop(name, built) != built:
            raise ValueError(f"this bundle's perceiver was built with {name}={recorded[name]!r}, an experimental "
                             "option that was removed (git history before the restructure has it)")
    return fields


PRESETS: dict[str, VisionConfig] = {
    "m3d": VisionConfig(name="m3d"),
    "e3d_gpt": VisionConfig(
        name="e3d_gpt",
        vit3d=ViT3DConfig(input_shape=(112, 224, 224), patch=(8, 16, 16), width=1536, depth=12, heads=16),
        slice_encoder=SliceEncoderConfig(image_size=(224, 224), patch=16, pool=2),
        perceiver=PerceiverConfig(kind="conv3d", k=2),
    ),
    "tiny": VisionConfig(
        name="tiny",
        vit3d=ViT3DConfig(input_shape=(32, 64, 64), patch=(4, 8, 8), width=96, depth=2, heads=4),
        slice_encoder=SliceEncoderConfig(image_size=(64, 64), patch=8, width=96, depth=2, heads=4, pool=2),
        perceiver=PerceiverConfig(kind="pool_mlp", k=2),
    ),
}
PRESETS["tiny_conv"] = dataclasses.replace(
    PRESETS["tiny"], name="tiny_conv",
    vit3d=dataclasses.replace(PRESETS["tiny"].vit3d, stem="conv", stem_channels=16))
PRESETS["tiny_loc"] = dataclasses.replace(
    PRESETS["tiny_conv"], name="tiny_loc",
    perceiver=dataclasses.replace(PRESETS["tiny_conv"].perceiver, location_codes=True))
def get_config(preset: str = "tiny", *, perceiver: str | None = None, tgis_mode: str | None = None,
               **tgis: Any) -> VisionConfig:
    """A preset, optionally with another perceiver kind or TG-IS settings.

    Example:
        >>> get_config("tiny", perceiver="qformer", tgis_mode="max").perceiver.kind
        'qformer'
    """
    try:
        cfg = PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}") from None
    if perceiver is not None:
        cfg = dataclasses.replace(cfg, perceiver=dataclasses.replace(cfg.perceiver, kind=perceiver))
    if tgis_mode is not None or tgis:
        changes = dict(tgis)
        if tgis_mode is not None:
            changes["mode"] = tgis_mode
        cfg = dataclasses.replace(cfg, tgis=dataclasses.replace(cfg.tgis, **changes))
    return cfg
