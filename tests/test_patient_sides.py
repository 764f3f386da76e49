"""The patient's side, end to end: a lesion put on a known side of the real A0001 chest keeps
that side in its label, in the model input of training and of the app, in the location codes'
words and on screen; the dataset's real tumour lies in the left lung by the DICOM header itself.

A0001 is a training scan of the default bundle (from its DICOM series) and the app's demo scan
(the bundled NIfTI, stored in another voxel order: LAS against the series' LPS). Were labels and
model inputs to disagree about sides anywhere (the label from one voxel order, the input from
another, or a loader that drops a flip), these tests would fail: the sides are checked against
world x (LPS: +x is the patient's left), never against an array half alone. The last test asks
the default bundle itself where a mass on either side is.
"""

from __future__ import annotations

import re

import nibabel as nib
import numpy as np
import pydicom
import pytest

from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.io import load_volume
from inference.io.reorient import RAS_TO_LPS
from inference.io.volume import Volume
from inference.preprocess import ModelInput, preprocess
from inference.resources import DEMO_CT
from training.data.cases import ScanCases
from training.data.examples import lesion_token_target
from training.data.synthetic import Anatomy, Lesion, insert_lesion, location_question
from training.models.config import get_config
from training.models.inputs import recipe_for
from training.models.multimodal import cell_place
from viewer.models.planes import AXIAL

A0001 = "dicom/chest_lungdx_A0001_5mm"
MARGIN_MM = 40.0  # a forced lesion's centre lies this far from the body's middle, or further
SIDES = ("left", "right")


def body_middle_x(volume: Volume, k: int) -> float:
    """World x (LPS) of the middle of the body (voxels above -500 HU) on slice ``k``."""
    body = np.flatnonzero((volume.voxels[k] > -500).any(axis=0))
    return float(volume.index_to_world(k, volume.shape[1] / 2, (body.min() + body.max()) / 2)[0])


def x_from_middle_mm(volume: Volume) -> np.ndarray:
    """``(nz, nx)``: world x (LPS, + toward the patient's left) of each voxel column, minus
    :func:`body_middle_x` of its slice."""
    columns = np.arange(volume.shape[2])
    points = np.stack([columns, np.full(columns.size, volume.shape[1] / 2), np.zeros(columns.size),
                       np.ones(columns.size)])
    x = (volume.affine @ points)[0]
    return np.stack([x + volume.affine[0, 2] * k - body_middle_x(volume, k) for k in range(volume.shape[0])])


def on_side(volume: Volume, anatomy: Anatomy, side: str) -> Anatomy:
    """``anatomy`` with lesion room left only where the patient's ``side`` lies ``MARGIN_MM``
    or more from the middle of the body: :func:`insert_lesion` then places its lesion there."""
    offset = x_from_middle_mm(volume)[:, None, :]
    keep = offset > MARGIN_MM if side == "left" else offset < -MARGIN_MM
    return Anatomy(anatomy.mask, np.where(keep, anatomy.depth_mm, 0.0).astype(np.float32), anatomy.noise_hu)


def lesion_column(prepared: ModelInput, with_lesion: np.ndarray, without: np.ndarray) -> int:
    """The model-input column (``W`` axis) at the centre of what the lesion brightens (weighted
    by how much)."""
    gain = np.clip(with_lesion - without, 0, None).reshape(prepared.array.shape[2:]).sum(axis=(0, 1))
    return int(round(float(gain @ np.arange(gain.size) / gain.sum())))


def world_x_of_model_column(prepared: ModelInput, volume: Volume, lesion: Lesion, w: int) -> float:
    """World x of the scan column model column ``w`` was sampled at, on the lesion's slice and row."""
    k, j, _ = lesion.center_kji
    return float(volume.index_to_world(k, j, float(prepared.sample_index_zyx[2][w]))[0])


@pytest.fixture(scope="module")
def training_source(ct_dir):
    """A0001's cases exactly as training draws them (its lesion-free part, every stage of the
    default recipe: ``--lesion-free-parts``)."""
    return ScanCases(ct_dir, A0001, lesion_free_parts=True)


@pytest.fixture(scope="module")
def demo_volume():
    return load_volume(DEMO_CT)


@pytest.fixture(scope="module")
def bundle():
    return load_bundle("default")


@pytest.fixture(scope="module")
def chat(bundle):
    session = ChatSession(bundle, n_ctx=1024)
    yield session
    session.close()


def test_plus_x_is_the_patients_left_by_the_anatomy(a0001_volume, training_source):
    """The header's left is the body's: beside the heart the left lung is the smaller one."""
    mask = training_source.anatomy.mask  # the lesion-free part: slices 0-37, the heart's levels
    offset = x_from_middle_mm(training_source.part)[:, None, :]
    left, right = int((mask & (offset > 0)).sum()), int((mask & (offset < 0)).sum())
    assert left < 0.85 * right, (left, right)  # measured 0.71
    assert a0001_volume.metadata["source_orientation"] == "LPS"


def test_the_datasets_tumour_is_in_the_left_lung(ct_dir, a0001_volume, demo_volume, bundle):
    """The dataset's boxes (pixel columns of the stored slices) lie 40 mm and more to the
    patient's left of the body's middle, placed by the DICOM header alone; the loaded series and
    the demo NIfTI hold the tumour at the same columns, and the model input in its left half
    (patient left, the location codes' "left" cells)."""
    series = ct_dir / A0001
    headers = {int(ds.InstanceNumber): ds for ds in
               (pydicom.dcmread(p, stop_before_pixels=True) for p in series.glob("*.dcm"))}
    positions = list(a0001_volume.slice_positions)
    prepared = preprocess(demo_volume, bundle.recipe)
    for box in sorted((ct_dir / f"{A0001}_annotations").glob("*.xml")):
        text = box.read_text()
        x0, y0, x1, y1 = (int(re.search(f"<{tag}>(\\d+)</{tag}>", text).group(1))
                          for tag in ("xmin", "ymin", "xmax", "ymax"))
        ds = headers[int(box.name.split("__")[0].split("-")[1])]
        row_cosines = np.array(ds.ImageOrientationPatient[:3], float)
        centre = np.array(ds.ImagePositionPatient, float) + row_cosines * float(ds.PixelSpacing[1]) * (x0 + x1) / 2
        k = positions.index(float(ds.ImagePositionPatient[2]))
        assert centre[0] - body_middle_x(a0001_volume, k) >= MARGIN_MM  # measured 44 to 53 mm
        for volume in (a0001_volume, demo_volume):
            assert np.mean(volume.voxels[k, y0:y1 + 1, x0:x1 + 1] > -300) > 0.5, "the tumour's soft tissue"
        model_columns = np.flatnonzero((prepared.sample_index_zyx[2] >= x0) & (prepared.sample_index_zyx[2] <= x1))
        assert model_columns.min() >= prepared.array.shape[-1] / 2
        # and the array holds the box's pixels there, not mirrored across its middle
        sz, sy, sx = prepared.sample_index_zyx
        d = int(np.nanargmin(np.abs(sz - k)))
        rows = np.flatnonzero((sy >= y0) & (sy <= y1))
        pixels = demo_volume.voxels[int(round(sz[d]))][np.ix_(np.rint(sy[rows]).astype(int),
                                                              np.rint(sx[model_columns]).astype(int))]
        expected = np.clip((pixels + 1000.0) / 2000.0, 0.0, 1.0)  # the recipe's window, [0, 1]
        slab = prepared.array[0, 0, d][rows]
        mirrored = prepared.array.shape[-1] - 1 - model_columns
        assert np.abs(slab[:, model_columns] - expected).mean() < 0.5 * np.abs(slab[:, mirrored] - expected).mean()


@pytest.mark.parametrize("side", SIDES)
def test_a_training_lesion_keeps_its_side_from_label_to_model_input(training_source, side):
    """Cases drawn as training draws them (insertion, random crop, questions, model input and
    lesion-token target): the label and the answers say the side the lesion was put on, and the
    model-input column that holds the lesion was sampled where the lesion is (no flip between the
    label's voxel order and the input's)."""
    source, cfg = training_source, get_config("tiny_loc")  # the default bundle's configuration
    whole_anatomy = source.anatomy
    source.anatomy = on_side(source.part, whole_anatomy, side)
    try:
        cases = [source.case(n, seed=n, crops=True) for n in (2, 4, 6)]
    finally:
        source.anatomy = whole_anatomy
    other = SIDES[1 - SIDES.index(side)]
    for case in cases:
        lesion = case.lesion
        assert lesion is not None and lesion.side == side
        centre = case.volume.index_to_world(*lesion.center_kji)
        k_part = int(np.argmin(np.abs(source.part.slice_positions - centre[2])))  # axial slices
        assert (centre[0] - body_middle_x(source.part, k_part)) * (1 if side == "left" else -1) >= MARGIN_MM
        places = [qa.answer for qa in case.qas if qa.kind in ("location", "findings")]
        assert len(places) == 3 and all(side in a and other not in a for a in places), places
        # the model input with and without the lesion (the same crop of the clean part: the
        # crop's first voxel, found in the part, gives its box)
        prepared = preprocess(case.volume, recipe_for(cfg))
        ijk = np.linalg.solve(source.part.affine, np.append(case.volume.index_to_world(0, 0, 0), 1.0))[:3]
        lo = tuple(int(n) for n in np.rint(ijk[::-1]))
        clean = source.part.cropped(lo, tuple(a + b for a, b in zip(lo, case.volume.shape)))
        w = lesion_column(prepared, prepared.array, preprocess(clean, recipe_for(cfg)).array)
        column_mm = abs(float(np.diff(prepared.sample_index_zyx[2][:2])[0])) * case.volume.spacing_zyx[2]
        assert abs(world_x_of_model_column(prepared, case.volume, lesion, w) - centre[0]) <= column_mm
        # the lesion-token target (the location codes' gate) marks the cells of that column
        target = lesion_token_target(prepared, case.volume.spacing_zyx, lesion, cfg.perceiver_grid)
        w_cells = {int(c[2]) for c in np.argwhere(target.reshape(cfg.perceiver_grid))}
        assert w * cfg.perceiver_grid[2] // prepared.array.shape[-1] in w_cells


@pytest.mark.parametrize("side", SIDES)
def test_the_app_sees_the_lesion_where_training_put_it(tmp_path, a0001_volume, demo_volume, training_source,
                                                       chat, side):
    """The same lesion in the DICOM series (training's file), in the demo NIfTI (the app's, stored
    LAS) and in a copy stored RAS (columns toward the patient's right): the app's session feeds
    the model one array, training's preprocessing of the series, with the lesion in the patient's
    half of it: the half whose location codes start as that side's word."""
    anatomy = on_side(training_source.part, training_source.anatomy, side)
    # the lesion-free part's anatomy padded to the whole scan (the part is its first slices), so
    # the lesion is placed as in training
    pad = ((0, a0001_volume.shape[0] - anatomy.mask.shape[0]), (0, 0), (0, 0))
    whole = Anatomy(np.pad(anatomy.mask, pad), np.pad(anatomy.depth_mm, pad), anatomy.noise_hu)
    series, lesion = insert_lesion(a0001_volume, seed=3, anatomy=whole)
    demo, same = insert_lesion(demo_volume, seed=3, anatomy=whole)
    assert lesion == same and lesion.side == side and np.array_equal(series.voxels, demo.voxels)

    stored_ras = tmp_path / "a0001_ras.nii.gz"
    flip_i = np.diag([-1.0, 1.0, 1.0, 1.0])
    flip_i[0, 3] = demo.shape[2] - 1  # stored column i' is column n - 1 - i'
    nib.save(nib.Nifti1Image(demo.voxels.transpose(2, 1, 0)[::-1], RAS_TO_LPS @ demo.affine @ flip_i), stored_ras)
    reread = load_volume(stored_ras)
    assert reread.metadata["source_orientation"].startswith("R") and np.array_equal(reread.voxels, demo.voxels)

    recipe = recipe_for(get_config("tiny_loc"))
    training_input = preprocess(series, recipe)
    for volume in (demo, reread):
        chat.load_scan(volume)
        assert np.abs(chat.model_input.array - training_input.array).max() < 1e-5
    w = lesion_column(training_input, training_input.array, preprocess(a0001_volume, recipe).array)
    grid = get_config("tiny_loc").perceiver_grid
    assert cell_place(grid, 0, w * grid[2] // training_input.array.shape[-1])[0] == side
    x = world_x_of_model_column(training_input, series, lesion, w)
    assert (x > body_middle_x(series, lesion.center_kji[0])) == (side == "left")


@pytest.mark.parametrize("side", SIDES)
def test_the_screen_shows_the_patients_left_on_the_right(a0001_volume, training_source, side):
    """Radiological display: the axial view's screen right is +i, the patient's left, and says
    "L" at that edge; a lesion on the patient's left is drawn right of the middle."""
    screen_right = np.cross(AXIAL.direction, AXIAL.view_up)
    assert np.allclose(screen_right, (1.0, 0.0, 0.0)) and AXIAL.right == (0, 1)
    assert AXIAL.edge_letters(a0001_volume.orientation)["right"] == "L"
    _, lesion = insert_lesion(training_source.part, seed=5, anatomy=on_side(training_source.part,
                                                                               training_source.anatomy, side))
    drawn_right = lesion.center_kji[2] > training_source.part.shape[2] / 2
    assert drawn_right == (lesion.side == "left")


@pytest.mark.parametrize("side", SIDES)
def test_the_bundle_names_the_side_of_a_mass_like_those_it_learnt(training_source, chat, side):
    """The default bundle's open location answer names the side of a 30 mm and larger mass put on
    either side of A0001's lesion-free part (what it was trained on): sides are not swapped
    between the labels it learnt and what it is shown. (Its real tumour, which it was never
    taught to place, is another matter: docs/model-card.md.)"""
    anatomy = on_side(training_source.part, training_source.anatomy, side)
    seed = next(s for s in range(100) if insert_lesion(training_source.part, s, anatomy)[1].kind == "mass")
    volume, lesion = insert_lesion(training_source.part, seed, anatomy)
    chat.load_scan(volume)
    answer = chat.ask(location_question(lesion.kind), max_tokens=12).text
    assert side in answer and SIDES[1 - SIDES.index(side)] not in answer, answer
