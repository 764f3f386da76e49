"""How a slice-set model is given a CT: which axial slices, rendered how, labelled how.

MedGemma 1.5's CT recipe (Google-Health/medgemma, ``notebooks/high_dimensional_ct_hugging_face
.ipynb``, and the MedGemma 1.5 report §2.3.1): at most 85 axial slices, taken equidistantly
along the series when it has more (``[s[round(i / 85 * (n - 1))] for i in 1..85]``), each an RGB
image of three Hounsfield windows (red −1024..1024, green −135..215, blue 0..80 HU), shown
to the model after an instruction, each followed by the text ``SLICE k``. The recipe is
declared in each bundle's manifest and said in About this model; other llama.cpp vision
families declare their own (for example one grey window in all three channels).

Slices are rendered from the stored slices (never a resampled grid) in radiological display:
row 0 anterior, column 0 the patient's right, as :class:`~inference.io.volume.Volume` holds
them; they are sent from inferior to superior.

Example:
    >>> recipe = SliceRecipe()
    >>> recipe.sample(200)[:3], len(recipe.sample(200))
    ([2, 5, 7], 85)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

MEDGEMMA_INSTRUCTION = ("You are an instructor teaching medical students. You are analyzing a contiguous "
                        "block of CT slices. Please review the slices provided below carefully.")
MEDGEMMA_WINDOWS = ((-1024.0, 1024.0), (-135.0, 215.0), (0.0, 80.0))
SAMPLINGS = ("medgemma_equidistant", "all")


class SliceRecipeError(ValueError):
    """A scan this recipe cannot give the model (one sentence for the user)."""


@dataclass(frozen=True)
class SliceRecipe:
    """A bundle's slice recipe (the manifest's ``slice_recipe``).

    Attributes:
        max_slices: the published slice budget (85 for MedGemma 1.5); ``--slices`` lowers it.
        min_slices: a scan with fewer stored slices is refused.
        sampling: ``"medgemma_equidistant"`` (the notebook's formula: index 0 is skipped when
            sampling, the last slice is kept) or ``"all"`` (every slice, up to the budget).
        windows: one (low, high) HU window per RGB channel, mapped to 0..255 and rounded.
        label: the text after each slice image; ``{k}`` is its number from 1 among those sent.
        label_single: whether one slice alone is labelled (the notebook leaves it unlabelled).
        instruction: the text before the slices.
        image_size: the side the model's processor resizes each slice to (pixels).
        tokens_per_image: image tokens each slice becomes in the LLM.
        source: where the recipe comes from, in words (About this model says it).
    """

    max_slices: int = 85
    min_slices: int = 1
    sampling: str = "medgemma_equidistant"
    windows: tuple[tuple[float, float], ...] = MEDGEMMA_WINDOWS
    label: str = "SLICE {k}"
    label_single: bool = False
    instruction: str = MEDGEMMA_INSTRUCTION
    image_size: int = 896
    tokens_per_image: int = 256
    source: str = "MedGemma 1.5's CT notebook (Google-Health/medgemma)"

    def __post_init__(self) -> None:
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"slice sampling is one of {SAMPLINGS}, not {self.sampling!r}")
        if len(self.windows) != 3 or any(hi <= lo for lo, hi in self.windows):
            raise ValueError("a slice recipe needs three windows (low < high), one per RGB channel")
        object.__setattr__(self, "windows", tuple((float(lo), float(hi)) for lo, hi in self.windows))

    def to_dict(self) -> dict:
        """JSON-ready form (the manifest's ``slice_recipe``)."""
        data = asdict(self)
        data["windows"] = [list(w) for w in self.windows]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "SliceRecipe":
        """Inverse of :meth:`to_dict` (unknown keys refused: a newer bundle format)."""
        known = set(cls.__dataclass_fields__)
        extra = set(data) - known
        if extra:
            raise ValueError(f"unknown slice-recipe keys {sorted(extra)}")
        return cls(**{**data, "windows": tuple(tuple(w) for w in data.get("windows", MEDGEMMA_WINDOWS))})

    def budget(self, slices: int | None) -> int:
        """The slices to send: ``slices`` (the user's ``--slices``) capped by the recipe's own."""
        if slices is None:
            return self.max_slices
        if slices < 1:
            raise SliceRecipeError(f"--slices must be at least 1 (got {slices})")
        return min(int(slices), self.max_slices)

    def sample(self, n_stored: int, slices: int | None = None) -> list[int]:
        """The stored slices (indices from 0, inferior to superior) that are sent."""
        if n_stored < self.min_slices:
            raise SliceRecipeError(f"this scan has {n_stored} slice{'s' * (n_stored != 1)}; the model's recipe "
                                   f"needs at least {self.min_slices}")
        budget = self.budget(slices)
        if n_stored <= budget:
            return list(range(n_stored))
        if self.sampling == "all":
            return list(range(budget))
        # the notebook's formula (Python's round: halves to even, as it is written there)
        return [int(round(i / budget * (n_stored - 1))) for i in range(1, budget + 1)]

    def label_for(self, k: int, n_sent: int) -> str:
        """The text after slice ``k`` (from 1) of ``n_sent``; empty for a lone unlabelled slice."""
        if n_sent == 1 and not self.label_single:
            return ""
        return self.label.format(k=k)

    def render(self, hu_slice: np.ndarray) -> np.ndarray:
        """One slice (rows, columns) in HU -> RGB uint8 (rows, columns, 3), one window per channel."""
        hu = np.asarray(hu_slice, dtype=np.float32)
        channels = [np.rint(np.clip((hu - lo) / (hi - lo), 0.0, 1.0) * 255.0) for lo, hi in self.windows]
        return np.stack(channels, axis=-1).astype(np.uint8)

    def describe(self) -> dict[str, str]:
        """The recipe in words (About this model, ``ask --json``)."""
        windows = ", ".join(f"{c} {lo:g}..{hi:g} HU" for c, (lo, hi) in zip(("red", "green", "blue"), self.windows))
        how = ("equidistant along the series (MedGemma's sampling)" if self.sampling == "medgemma_equidistant"
               else "every slice")
        return {"slices": f"at most {self.max_slices} axial slices, {how}, inferior to superior",
                "rendering": f"RGB of three windows: {windows}; radiological orientation",
                "labels": f"each slice followed by \"{self.label}\"" + ("" if self.label_single else
                                                                     " (none when one slice is sent)"),
                "instruction": self.instruction,
                "model input": f"{self.image_size} x {self.image_size} px per slice after the model's own resize, "
                               f"{self.tokens_per_image} image tokens each",
                "source": self.source}


@dataclass
class RenderedSlices:
    """The slices a slice-set model is given, as rendered (before the processor's resize).

    Attributes:
        images: RGB uint8 arrays (rows, columns, 3), in the order sent.
        stored: the stored slice (from 0) each image was rendered from.
        n_stored: how many stored slices the scan has.
    """

    images: list[np.ndarray]
    stored: list[int]
    n_stored: int
    labels: list[str] = field(default_factory=list)

    def stack(self) -> np.ndarray:
        """All images as one (n, rows, columns, 3) array (what the scan cache is keyed on)."""
        return np.stack(self.images) if self.images else np.zeros((0, 0, 0, 3), np.uint8)
