"""Synthetic lesions in real CT anatomy, with the questions the papers ask, answered from truth.

A nodule or mass of known diameter, HU and position is blended into the lung parenchyma of
a real scan: a sphere in millimetres (so anisotropic voxels are handled), a soft edge over
``EDGE_MM``, partial-volume blending with the surrounding lung, and noise at the scanner's own
soft-tissue noise level, so the lesion sits in real anatomy rather than on a clean background. Everything about it is recorded (:class:`Lesion`), and
:func:`questions_for` turns that ground truth into the question types of M3D-VQA / E3D-GPT
(plane, phase, organ, abnormality, location, size, findings) and the CT-RATE yes/no template.

A sample is fully described by ``(scan, seed, positive)``: the lesion is drawn again from the
seed, so a dataset is a small JSONL file, not gigabytes of volumes.

Example:
    >>> from inference.io import load_volume
    >>> vol = load_volume("chest/")                              # doctest: +SKIP
    >>> with_lesion, lesion = insert_lesion(vol, seed=3)         # doctest: +SKIP
    >>> lesion.diameter_mm, lesion.side, lesion.zone, lesion.slices   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

from inference.io.volume import Volume
from inference.question import Question

AIR_HU = -400.0  # below this, inside the body: lung (or bowel gas, removed by size)
VESSEL_MM2 = 400.0  # holes in a lung slice up to this area are vessels, filled for lesion depth
AIRWAY_HU = -960.0  # lung parenchyma averages -950..-750 HU over 3 voxels; airway lumen is below
EDGE_MM = 1.5  # width of the lesion's soft edge
DIAMETER_MM = (6.0, 40.0)  # nodules (< MASS_MM) and masses
MASS_MM = 30.0  # radiology convention: a lesion from 30 mm on is a mass
NO_LESION = "No nodule or mass is seen in the lungs."
LESION_HU = (-20.0, 60.0)  # solid soft-tissue density
PRESENCE_QUESTION = "Is there a nodule or mass in the lungs?"
PRESENCE_KINDS = ("abnormality", "disease")  # the yes/no questions on whether a lesion is there
# questions about the lesion: TG-IS should look at its slices (plane, phase, organ are not)
LESION_KINDS = ("abnormality", "disease", "location", "size", "findings")


@dataclass(frozen=True)
class Lesion:
    """Ground truth of one inserted lesion (indices in the volume's ``[k, j, i]`` order)."""

    center_kji: tuple[int, int, int]
    diameter_mm: float
    hu: float
    side: str  # "right" or "left" (patient side)
    zone: str  # "upper", "middle" or "lower" third of the lung's height
    slices: tuple[int, int]  # first and last slice the lesion touches (inclusive)

    @property
    def kind(self) -> str:
        """"mass" from 30 mm on, else "nodule" (radiology convention)."""
        return "mass" if self.diameter_mm >= MASS_MM else "nodule"


def lung_mask(volume: Volume) -> np.ndarray:
    """Boolean mask of the lungs: air-density voxels inside the body, in the two largest
    connected regions (the lungs; smaller ones, such as bowel gas, are left out).

    "Inside the body" is the convex hull of the body on each slice, not "away from the image
    border": a scan cropped to the chest has its lungs on the border, and a border rule would
    take the stomach's gas for the lungs.
    """
    rows, cols = np.indices(volume.shape[1:])  # every pixel of a slice, (row, col, 1), for the hull test
    pixels = np.stack([rows.ravel(), cols.ravel(), np.ones(rows.size)])
    air = (volume.voxels < AIR_HU) & np.stack([_body_hull(s, pixels) for s in volume.voxels])
    labels, n = ndimage.label(air)
    if n == 0:
        return np.zeros_like(air)
    sizes = ndimage.sum_labels(air, labels, index=np.arange(1, n + 1))
    keep = np.argsort(sizes)[::-1][:2]
    keep = keep[sizes[keep] > 0.1 * sizes[keep].max()] + 1
    return np.isin(labels, keep)


def _body_hull(hu: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Convex hull of the largest connected body region (> -500 HU) of one slice; ``pixels``
    holds the slice's pixel coordinates as rows ``(row, col, 1)``."""
    body = hu > -500
    labels, n = ndimage.label(body)
    if n == 0:
        return body
    body = labels == 1 + int(np.argmax(ndimage.sum_labels(body, labels, index=np.arange(1, n + 1))))
    edge = np.argwhere(body & ~ndimage.binary_erosion(body))
    if len(edge) < 3 or np.linalg.matrix_rank(edge - edge.mean(axis=0)) < 2:
        return body
    facets = ConvexHull(edge).equations  # normal . point + offset <= 0 inside
    return ((facets @ pixels).max(axis=0) <= 0.5).reshape(hu.shape)


@dataclass
class Anatomy:
    """What lesion placement needs from a scan, computed once per scan."""

    mask: np.ndarray  # lungs
    depth_mm: np.ndarray  # distance of each lung voxel to the lung's edge
    noise_hu: float  # the scanner's noise level in soft tissue (HU, one standard deviation)


def analyse_anatomy(volume: Volume) -> Anatomy:
    """Lung mask, depth inside the lung, and soft-tissue noise of a scan (a second or two)."""
    mask = lung_mask(volume)
    # depth is measured in the parenchyma with its vessels (a nodule or mass engulfs vessels;
    # measured to the nearest vessel, no lesion would exceed ~2 cm), and without the airway
    # lumen, so no lesion is placed in the trachea or a bronchus
    pixel_mm2 = volume.spacing_zyx[1] * volume.spacing_zyx[2]
    with_vessels = np.stack([_fill_small_holes(m, int(VESSEL_MM2 / pixel_mm2)) for m in mask])
    parenchyma = with_vessels & (ndimage.uniform_filter(volume.voxels.astype(np.float32), 3) > AIRWAY_HU)
    # the image border counts as the lung's edge, so a lesion is never cut by the field of view
    depth = ndimage.distance_transform_edt(np.pad(parenchyma, 1), sampling=volume.spacing_zyx)[1:-1, 1:-1, 1:-1]
    return Anatomy(mask, depth.astype(np.float32), _soft_tissue_noise(volume))


def _fill_small_holes(mask: np.ndarray, max_pixels: int) -> np.ndarray:
    """``mask`` with its holes of up to ``max_pixels`` filled (vessels in a lung slice, not the
    mediastinum that two touching lungs might enclose)."""
    holes, n = ndimage.label(ndimage.binary_fill_holes(mask) & ~mask)
    if n == 0:
        return mask
    sizes = ndimage.sum_labels(np.ones_like(mask), holes, index=np.arange(1, n + 1))
    return mask | np.isin(holes, np.flatnonzero(sizes <= max_pixels) + 1)


def _soft_tissue_noise(volume: Volume) -> float:
    """Median absolute high-pass residual in soft tissue (0-100 HU), as a standard deviation."""
    k = volume.shape[0] // 2
    sl = volume.voxels[k].astype(np.float32)
    residual = sl - ndimage.uniform_filter(sl, size=5)
    tissue = (sl > 0) & (sl < 100)
    if tissue.sum() < 100:
        return 10.0
    return float(1.4826 * np.median(np.abs(residual[tissue])))


def insert_lesion(volume: Volume, seed: int, anatomy: Anatomy | None = None) -> tuple[Volume, Lesion]:
    """A copy of ``volume`` with one lesion drawn from ``seed`` inside its lungs.

    Raises:
        ValueError: the scan has no lung region to place a lesion.
    """
    rng = np.random.default_rng(seed)
    anatomy = analyse_anatomy(volume) if anatomy is None else anatomy
    if not anatomy.mask.any():
        raise ValueError("no lung region in this scan to place a lesion")
    spacing = np.array(volume.spacing_zyx)
    # a lesion no larger than the lung allows, centred at least a radius inside the lung
    diameter = float(min(rng.uniform(*DIAMETER_MM), 2 * 0.8 * anatomy.depth_mm.max()))
    hu = float(rng.uniform(*LESION_HU))
    radius = diameter / 2
    center = _pick_across_thirds(np.argwhere(anatomy.depth_mm >= radius), anatomy.mask, rng)

    reach = np.ceil((radius + EDGE_MM) / spacing).astype(int)
    lo = np.maximum(center - reach, 0)
    hi = np.minimum(center + reach + 1, volume.shape)
    grid = np.ogrid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    dist = np.sqrt(sum(((g - c) * s) ** 2 for g, c, s in zip(grid, center, spacing)))
    alpha = np.clip((radius - dist) / EDGE_MM + 0.5, 0.0, 1.0).astype(np.float32)

    voxels = volume.voxels.copy()
    box = voxels[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].astype(np.float32)
    tissue = hu + rng.normal(0.0, anatomy.noise_hu, box.shape).astype(np.float32)
    blended = (1 - alpha) * box + alpha * tissue
    voxels[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = (
        np.rint(blended) if np.issubdtype(voxels.dtype, np.integer) else blended
    )
    touched = np.flatnonzero(alpha.max(axis=(1, 2)) >= 0.5) + lo[0]
    lesion = Lesion(
        center_kji=tuple(int(c) for c in center),
        diameter_mm=round(diameter, 1),
        hu=round(hu, 1),
        side=_side(volume, center),
        zone=_zone(anatomy.mask, int(center[0])),
        slices=(int(touched.min()), int(touched.max())),
    )
    return dataclasses.replace(volume, voxels=voxels, warnings=list(volume.warnings)), lesion


def random_crop(volume: Volume, lesion: Lesion | None, rng: np.random.Generator,
                min_fraction: tuple[float, float, float] = (0.5, 0.7, 0.7),
                lungs: np.ndarray | None = None) -> tuple[Volume, Lesion | None]:
    """A random box of ``volume`` (at least ``min_fraction`` of each axis) that holds all of
    ``lesion``, with the lesion's indices moved into the box. Its side stays the patient's;
    given the scan's ``lungs`` mask, its zone is taken again in the lungs the box shows, as it
    is for any scan (:func:`insert_lesion`).

    Training on such crops keeps the model from learning one scan's layout by heart: a lesion
    has to be recognised wherever the field of view puts it.
    """
    shape = np.array(volume.shape)
    size = np.maximum(np.round(shape * rng.uniform(min_fraction, 1.0)).astype(int), 1)
    if lesion is None:
        lo = np.array([rng.integers(0, n - s + 1) for n, s in zip(shape, size)])
        return volume.cropped(tuple(lo), tuple(lo + size)), None
    reach = np.ceil((lesion.diameter_mm / 2 + EDGE_MM) / np.array(volume.spacing_zyx)).astype(int)
    need_lo = np.maximum(np.array(lesion.center_kji) - reach, 0)
    need_lo[0] = min(need_lo[0], lesion.slices[0])
    need_hi = np.minimum(np.array(lesion.center_kji) + reach + 1, shape)
    need_hi[0] = max(need_hi[0], lesion.slices[1] + 1)
    size = np.maximum(size, need_hi - need_lo)
    # the box starts where it still holds the lesion and stays inside the volume
    lo = np.array([rng.integers(max(0, h - s), min(l, n - s) + 1)
                   for l, h, s, n in zip(need_lo, need_hi, size, shape)])
    center = tuple(int(c) for c in np.array(lesion.center_kji) - lo)
    zone = lesion.zone
    if lungs is not None:
        zone = _zone(lungs[tuple(slice(l, l + s) for l, s in zip(lo, size))], center[0])
    moved = dataclasses.replace(lesion, center_kji=center, zone=zone,
                                slices=(lesion.slices[0] - int(lo[0]), lesion.slices[1] - int(lo[0])))
    return volume.cropped(tuple(lo), tuple(lo + size)), moved


def _side(volume: Volume, center: np.ndarray) -> str:
    """Patient side of a voxel, from the midline of the body (LPS: +x is patient left)."""
    body = volume.voxels[center[0]] > -500
    cols = np.flatnonzero(body.any(axis=0))
    mid = (cols.min() + cols.max()) / 2 if cols.size else volume.shape[2] / 2
    x_mid = volume.index_to_world(center[0], center[1], mid)[0]
    x = volume.index_to_world(*center)[0]
    return "left" if x > x_mid else "right"


def _pick_across_thirds(candidates: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of ``candidates`` (voxel indices ``(n, 3)``): its third of the lungs first, with equal
    chance among the thirds that hold any, then a voxel of that third. Most of a chest field of
    view's lung volume lies high (the heart and diaphragm fill the lower slices), so a uniform
    voxel would make most lesions "upper", and an answer that always says "upper" look right."""
    thirds = np.digitize(_lung_height(mask, candidates[:, 0]), [1 / 3, 2 / 3])  # 0 lower .. 2 upper, as third_name
    within = candidates[thirds == rng.choice(np.unique(thirds))]
    return within[rng.integers(len(within))]


def _lung_height(mask: np.ndarray, k: np.ndarray | int) -> np.ndarray | float:
    """Where slice(s) ``k`` lie in the lungs' extent along the slices: 0 lowest, 1 highest
    (k grows superior)."""
    ks = np.flatnonzero(mask.any(axis=(1, 2)))
    return (k - ks.min()) / max(ks.max() - ks.min(), 1)


def _zone(mask: np.ndarray, k: int) -> str:
    """Upper, middle or lower third of the lungs' extent along the slices (k grows superior)."""
    return third_name(float(_lung_height(mask, k)))


def third_name(fraction: float) -> str:
    """"lower", "middle" or "upper": the third that ``fraction`` (0 bottom, 1 top) falls in."""
    return "lower" if fraction < 1 / 3 else "middle" if fraction < 2 / 3 else "upper"


@dataclass(frozen=True)
class QA:
    """One question with its ground-truth answer (a multiple-choice answer written as M3D-VQA
    writes it: ``"B. left lower"``)."""

    kind: str  # plane, phase, organ, abnormality, location, size, findings, disease, real_lesion
    question: Question
    answer: str

    @property
    def task(self) -> str:
        """The question's task: open, choice, yes_no or report."""
        return self.question.task


def questions_for(volume: Volume, lesion: Lesion | None, rng: np.random.Generator,
                  phase: str | None = None, about_lesions: bool = True) -> list[QA]:
    """The question types of the papers, answered from what is known of the scan and ``lesion``.

    ``phase`` is the scan's contrast phase when it is known ("non-contrast" or
    "contrast-enhanced"); without it, only a recorded contrast agent answers the question, and
    an unknown phase is not asked. ``about_lesions=False`` leaves out every question about
    nodules and masses: for scans with real lesions of their own, which no ground truth here
    describes.
    """
    if phase is None and volume.metadata.get("contrast_agent"):
        phase = "contrast-enhanced"
    qas = [_choice("plane", "In which plane is this CT shown?", "axial", ["axial", "coronal", "sagittal"], rng)]
    if phase is not None:
        qas += [_choice("phase", "What is the contrast phase of this CT?", phase, ["non-contrast", "contrast-enhanced"], rng),
                QA("phase", Question("open", "What is the contrast phase of this CT?"), phase)]  # both ways, as M3D-VQA
    qas.append(_choice("organ", "Which organ system is the focus of this chest CT?", "lungs",
                       ["lungs", "liver", "brain", "kidneys"], rng))
    if not about_lesions:
        if lesion is not None:
            raise ValueError("a lesion was inserted but questions about lesions were left out")
        return qas
    qas += [
        QA("abnormality", Question("open", PRESENCE_QUESTION), "yes" if lesion else "no"),
        QA("disease", Question.yes_no("lung nodule"), "yes" if lesion else "no"),
    ]
    if lesion is None:
        # the open location question asked of a scan without a lesion: the answer names no
        # place (a model only taught lesion cases names one for every scan); the question's
        # noun as often as on lesion cases, so the word does not tell whether one is there
        noun = "mass" if rng.uniform(*DIAMETER_MM) >= MASS_MM else "nodule"
        qas += [QA("location", Question("open", location_question(noun)), NO_LESION),
                QA("findings", Question.findings(), NO_LESION)]
        return qas
    where = f"{lesion.side} {lesion.zone}"
    places = [f"{s} {z}" for s in ("right", "left") for z in ("upper", "middle", "lower")]
    qas += [
        _choice("location", f"Where is the {lesion.kind}?", where, places, rng),
        # M3D-VQA asks each question both ways; the open answer names the place in words
        QA("location", Question("open", location_question(lesion.kind)), f"{where} lung zone"),
        QA("size", Question("open", f"What is the diameter of the {lesion.kind}?"), f"{lesion.diameter_mm:.0f} mm"),
        QA("findings", Question.findings(),
           f"A solid {lesion.kind} of {lesion.diameter_mm:.0f} mm ({lesion.hu:.0f} HU) is seen in the "
           f"{where} lung zone. No other nodule or mass is seen."),
    ]
    return qas


def location_question(noun: str) -> str:
    """The open location question about a "nodule" or a "mass"."""
    return f"In which part of the lungs is the {noun}?"


def _choice(kind: str, question: str, answer: str, options: list[str], rng: np.random.Generator) -> QA:
    """A multiple-choice question with up to 4 shuffled options; the answer is the letter."""
    others = [o for o in options if o != answer]
    picked = [answer] + list(rng.choice(others, size=min(3, len(others)), replace=False))
    rng.shuffle(picked)
    letter = "ABCD"[picked.index(answer)]
    return QA(kind, Question("choice", question, tuple(picked)), f"{letter}. {answer}")
