"""A short real training run on the tiny configuration: loss goes down, checkpoints resume,
and the exported bundle (ONNX + LoRA GGUF) answers in the app's runtime."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.llm.model_files import default_gguf_path
from inference.llm.prompt import PromptFormat, default_tasks
from inference.llm.text_vector import TextVectorizer
from inference.llm.vocab import LlamaVocab
from inference.preprocess import preprocess
from inference.question import Question
from training.data.cases import TRAIN_SCANS, synthetic_cases
from training.data.examples import lesion_token_target, oversampled, training_examples
from training.data.synthetic import LESION_KINDS, PRESENCE_KINDS, analyse_anatomy, insert_lesion
from training.export.bundle_writer import write_bundle
from training.export.lora_gguf import peft_to_gguf
from training.models.config import get_config
from training.models.hf_llm import load_training_llm
from training.models.inputs import recipe_for
from training.models.multimodal import Example, MultimodalModel, lesion_token_loss, model_slice_target
from training.models.vision_model import build_vision_model
from training.stages.trainer import CHECKPOINT, TrainConfig, train

QUESTION = "Does this image show signs of lung nodule?"


@pytest.fixture(scope="module")
def model():
    gguf = default_gguf_path()
    fmt = PromptFormat(tasks=default_tasks())
    return MultimodalModel(build_vision_model(get_config("tiny"), seed=0), load_training_llm(gguf), LlamaVocab(gguf), fmt)


@pytest.fixture(scope="module")
def examples(a0001_volume, model):
    recipe = recipe_for(model.vision.cfg)
    vocab, table = model.vocab, TextVectorizer.from_gguf(default_gguf_path())
    vector = table.vector_from_ids(vocab.tokenize(QUESTION))
    prompt = model.prompt.task_prompt(Question.yes_no("lung nodule"))
    with_lesion, lesion = insert_lesion(a0001_volume, seed=4, anatomy=analyse_anatomy(a0001_volume))
    positive = preprocess(with_lesion, recipe)
    target = model_slice_target(positive.slice_map.model_to_original, *lesion.slices)
    return [
        Example(positive.array, vector, prompt, "yes", target),
        Example(preprocess(a0001_volume, recipe).array, vector, prompt, "no"),
    ]


def test_model_slice_target_marks_the_lesion_slices():
    centres = np.array([np.nan, 0.0, 3.0, 6.0, 9.0, np.nan])  # 3 original slices per model slice
    assert model_slice_target(centres, 2, 7).tolist() == [0, 0, 1, 1, 0, 0]
    # a lesion on one original slice between two model slice centres still marks the nearest
    assert model_slice_target(centres, 5, 5).tolist() == [0, 0, 0, 1, 0, 0]


def test_training_examples_carry_their_kind_and_presence_can_be_oversampled(model, ct_dir):
    cases = list(synthetic_cases(ct_dir, ("nifti/chest_cta_aorta_crop_totalseg_1p5mm.nii.gz",), 2, seed_base=0))
    examples = training_examples(model, cases, TextVectorizer.from_gguf(default_gguf_path()))
    kinds = [e.kind for e in examples]
    assert kinds == [qa.kind for case in cases for qa in case.qas]
    assert [e.lesion_slices is not None for e in examples] == \
        [case.lesion is not None and qa.kind in LESION_KINDS for case in cases for qa in case.qas]
    more = oversampled(examples, PRESENCE_KINDS, 3)
    assert all(a is b for a, b in zip(more, examples))
    assert [e.kind for e in more].count("abnormality") == 3 * kinds.count("abnormality") == 6
    assert [e.kind for e in more].count("plane") == kinds.count("plane")


@pytest.mark.parametrize("recipe_name", ["m3d", "e3d_gpt"])
def test_lesion_token_target_marks_the_tokens_whose_pixels_the_lesion_changed(a0001_volume, recipe_name):
    """Drawn from the ground truth on the model's samples, checked against what the lesion did to
    the model input, for the resize (M3D) and the resample + centre-crop (E3D-GPT) recipes."""
    from inference.preprocess import RECIPES

    recipe = RECIPES[recipe_name]
    grid = (4, 4, 4)
    anatomy = analyse_anatomy(a0001_volume)
    for seed in (4, 7):
        with_lesion, lesion = insert_lesion(a0001_volume, seed=seed, anatomy=anatomy)
        prepared = preprocess(with_lesion, recipe)
        target = lesion_token_target(prepared, a0001_volume.spacing_zyx, lesion, grid)
        change = np.abs(prepared.array - preprocess(a0001_volume, recipe).array)[0, 0]
        d, h, w = (n // g for n, g in zip(change.shape, grid))
        per_token = change.reshape(grid[0], d, grid[1], h, grid[2], w).max(axis=(1, 3, 5)).reshape(-1)
        assert target.sum() >= 1
        # the target is the lesion's sphere: every token the lesion changed by at least half its
        # full contrast (lung to soft tissue: ~0.5) is marked; tokens that only the soft edge and
        # the resampling's interpolation reach (partial volume, under half) may not be
        half_or_more = per_token >= 0.5 * per_token.max()
        assert per_token.max() > 0.3
        assert np.all(target[half_or_more] == 1), "every token the lesion changed by half its contrast is marked"
        assert np.all(per_token[target == 1] > 0.01), "and every marked token was changed"
    assert lesion_token_target(prepared, a0001_volume.spacing_zyx, None, grid).tolist() == [0.0] * 64


@pytest.mark.parametrize("preset", ["tiny", "tiny_loc"])
def test_lesion_token_loss_teaches_the_image_tokens_where_the_lesion_is(examples, tmp_path, preset):
    """With location codes (tiny_loc) the head is their gate, in the vision model; it learns the
    same way."""
    gguf = default_gguf_path()
    aux = MultimodalModel(build_vision_model(get_config(preset), seed=1), load_training_llm(gguf), LlamaVocab(gguf),
                          PromptFormat(tasks=default_tasks()), lesion_weight=1.0)
    head = aux.lesion_head if preset == "tiny" else aux.vision.scan.location.head
    assert (aux.lesion_head is None) == preset.startswith("tiny_loc")
    target = np.zeros(int(np.prod(aux.vision.cfg.lesion_grid)), np.float32)
    target[[5, 6, 21]] = 1.0
    positive = Example(*examples[0].__dict__.values())
    positive.lesion_tokens = target

    def lesion_loss_and_gap() -> tuple[float, float]:
        with torch.no_grad():
            logits = aux.vision_outputs(positive)[2]
        gap = logits[target == 1].mean() - logits[target == 0].mean()
        return float(lesion_token_loss(logits, target)), float(gap)

    loss_before, gap_before = lesion_loss_and_gap()
    params = aux.configure_stage("align")
    assert any(p is head.weight for p in params), "the head trains with the stage"
    train(aux, [positive], TrainConfig("align", steps=40, lr=1e-3, out_dir=tmp_path), progress=False)
    loss_after, gap_after = lesion_loss_and_gap()
    assert loss_after < loss_before and gap_after > gap_before + 0.3, (loss_before, loss_after, gap_before, gap_after)


def test_answer_loss_is_the_full_models_loss_on_the_answer(model, examples):
    embeds, labels, _ = model.embed_sequence(examples[0])
    with torch.no_grad():
        full = model.llm(inputs_embeds=embeds, labels=labels).loss
        ours = model.answer_loss(embeds, labels)
    assert float(ours) == pytest.approx(float(full), rel=1e-4)


def test_location_codes_start_as_the_llms_words_for_their_place():
    """The location token's codes start as the sum of the place's words."""
    gguf = default_gguf_path()
    loc = MultimodalModel(build_vision_model(get_config("tiny_loc"), seed=1), load_training_llm(gguf),
                          LlamaVocab(gguf), PromptFormat(tasks=default_tasks()), lesion_weight=1.0)
    table = loc.llm.get_input_embeddings().weight.detach().float()

    def words(*texts: str) -> torch.Tensor:
        ids = [i for t in texts for i in loc.vocab.tokenize(" " + t)]
        return table[ids].sum(0)

    # columns run toward the patient's left, slice layers upward (the Volume convention)
    places = {(3, 1, 0): ("right", "upper"), (0, 2, 3): ("left", "lower"), (1, 0, 2): ("left", "middle"),
              (2, 3, 1): ("right", "middle")}
    codes = loc.vision.scan.location.codes.detach().reshape(4, 4, 4, -1)
    for cell, place in places.items():
        torch.testing.assert_close(codes[cell], words(*place))


def test_a_lora_run_started_from_a_lora_run_keeps_its_adapter_and_its_lesion_head(examples, tmp_path):
    """``ctchat train --init`` of a stage-2 run from a stage-2 run: the vision weights, the LoRA and
    the lesion-token head carry over; a model with location codes gets that head as their gate."""
    from training.stages.warm_start import start_from_run

    gguf = default_gguf_path()

    def build(preset: str, seed: int) -> MultimodalModel:
        return MultimodalModel(build_vision_model(get_config(preset), seed=seed), load_training_llm(gguf),
                               LlamaVocab(gguf), PromptFormat(tasks=default_tasks()), lesion_weight=1.0)

    first = build("tiny_conv", 0)  # tiny_loc is tiny_conv with location codes
    train(first, examples, TrainConfig("lora", steps=2, lr=1e-3, out_dir=tmp_path), progress=False)
    lora = {n: p for n, p in first.named_parameters() if "lora_B" in n}
    assert any(p.abs().sum() > 0 for p in lora.values()), "the adapter trained (lora_B starts at zero)"

    second = build("tiny_loc", 1)
    taken = start_from_run(second, tmp_path, "lora")
    assert set(taken) == {"vision", "lesion_head", "lora"}, taken
    named = dict(second.named_parameters())
    assert all(torch.equal(named[n], p) for n, p in lora.items())
    assert torch.equal(second.vision.scan.location.head.weight, first.lesion_head.weight)
    assert all(torch.equal(v, second.vision.state_dict()[k]) for k, v in first.vision.state_dict().items())
    # the codes are the new model's own (the LLM's place words), not absent
    assert second.vision.scan.location.codes.abs().sum() > 0

    # an align stage takes the vision weights only; a different vision model is refused
    assert set(start_from_run(build("tiny_conv", 2), tmp_path, "align")) == {"vision", "lesion_head"}
    with pytest.raises(ValueError, match="different vision model"):
        start_from_run(build("tiny", 0), tmp_path, "lora")


def test_a_run_started_from_an_exported_bundle_has_its_weights(examples, tmp_path, ct_dir):
    """``ctchat train --init BUNDLE``: the vision weights are read back from the scan graph
    exactly, the LoRA from the float16 adapter, and both give the trained model's loss."""
    from peft import get_peft_model_state_dict

    from training.export.read_back import checkpoint_from_bundle
    from training.stages.trainer import read_stages
    from training.stages.warm_start import start_from_run

    gguf = default_gguf_path()

    def build(seed: int) -> MultimodalModel:
        return MultimodalModel(build_vision_model(get_config("tiny_loc"), seed=seed), load_training_llm(gguf),
                               LlamaVocab(gguf), PromptFormat(tasks=default_tasks()), lesion_weight=1.0)

    first = build(0)
    train(first, examples, TrainConfig("lora", steps=2, lr=1e-3, out_dir=tmp_path / "run"), progress=False)
    stages = [{"stage": "lora", "steps": 2}]
    write_bundle(tmp_path / "bundle", first.vision.eval(), "ctchat-test", "0.0.1",
                 {"trained": True, "stages": stages}, peft_to_gguf(get_peft_model_state_dict(first.llm)), lora_alpha=32)

    second = build(1)
    taken = start_from_run(second, tmp_path / "bundle", "lora")
    assert set(taken) == {"vision", "lora"}, taken
    assert all(torch.equal(v, second.vision.state_dict()[k]) for k, v in first.vision.state_dict().items())
    trained = {n: p for n, p in first.named_parameters() if "lora_" in n}
    named = dict(second.named_parameters())
    assert trained and all(torch.allclose(named[n], p, rtol=1e-3, atol=1e-5) for n, p in trained.items())
    assert any(p.abs().sum() > 0 for n, p in named.items() if "lora_B" in n), "the trained adapter, not a fresh one"
    first.eval(), second.eval()
    with torch.no_grad():
        assert float(second(examples[0])) == pytest.approx(float(first(examples[0])), abs=1e-3)
    assert read_stages(tmp_path / "bundle") == stages, "the bundle's training record carries on"

    # an align stage takes the vision weights only; a bundle of another model is refused
    assert set(start_from_run(build(2), tmp_path / "bundle", "align")) == {"vision"}
    tiny = MultimodalModel(build_vision_model(get_config("tiny_conv"), seed=0), load_training_llm(gguf),
                           LlamaVocab(gguf), PromptFormat(tasks=default_tasks()))
    with pytest.raises(ValueError, match="different vision model"):
        start_from_run(tiny, tmp_path / "bundle", "lora")
    assert checkpoint_from_bundle(tmp_path / "bundle")["stage"] == "lora"

    # a bundle keeps the order its model answers multiple choice in, and so do its examples
    last = MultimodalModel(build_vision_model(get_config("tiny_loc"), seed=4), load_training_llm(gguf),
                           LlamaVocab(gguf), PromptFormat(tasks=default_tasks(), choice_answer="letter_last"))
    write_bundle(tmp_path / "bundle3", last.vision.eval(), "ctchat-test", "0.0.1", {"trained": True, "stages": stages},
                 prompt=last.prompt)
    assert load_bundle(tmp_path / "bundle3").prompt.choice_answer == "letter_last"
    case = next(synthetic_cases(ct_dir, (TRAIN_SCANS[1],), 1, 0))
    choice = [ex for ex in training_examples(last, [case], TextVectorizer.from_gguf(gguf)) if "Choices: " in ex.prompt]
    assert choice and all(re.fullmatch(r"[a-z -]+ \([A-D]\)", ex.answer) for ex in choice), [ex.answer for ex in choice]


def test_tgis_auxiliary_loss_moves_scores_onto_the_lesion(examples, tmp_path):
    gguf = default_gguf_path()
    aux = MultimodalModel(build_vision_model(get_config("tiny"), seed=1), load_training_llm(gguf), LlamaVocab(gguf),
                          PromptFormat(tasks=default_tasks()), tgis_weight=1.0)
    positive = examples[0]

    def lesion_mass() -> float:
        with torch.no_grad():
            return float((aux.embed_sequence(positive)[2][0].numpy() * positive.lesion_slices).sum())

    before = lesion_mass()
    train(aux, [positive], TrainConfig("align", steps=8, lr=1e-3, out_dir=tmp_path), progress=False)
    assert lesion_mass() > 2 * before, (before, lesion_mass())


def test_stage_one_aligns_and_loss_goes_down(model, examples, tmp_path):
    encoder_before = [p.detach().clone() for p in model.vision.scan.vit3d.parameters()]
    perceiver_before = [p.detach().clone() for p in model.vision.scan.perceiver.parameters()]
    llm_before = model.llm.get_input_embeddings().weight[:8].detach().clone()
    losses = train(model, examples, TrainConfig("align", steps=10, lr=1e-3, out_dir=tmp_path), progress=False)
    assert len(losses) == 10 and all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < np.mean(losses[:3]), losses
    assert all(torch.equal(a, b) for a, b in zip(encoder_before, model.vision.scan.vit3d.parameters())), \
        "stage 1 keeps the 3D encoder frozen"
    assert not all(torch.equal(a, b) for a, b in zip(perceiver_before, model.vision.scan.perceiver.parameters())), \
        "and trains the perceiver"
    assert torch.equal(llm_before, model.llm.get_input_embeddings().weight[:8]), "and the LLM"


def test_checkpoints_resume_where_they_stopped(model, examples, tmp_path):
    first = train(model, examples, TrainConfig("align", steps=4, lr=1e-4, out_dir=tmp_path, checkpoint_every=2), progress=False)
    saved = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    assert saved["step"] == 4 and len(saved["losses"]) == 4
    rest = train(model, examples, TrainConfig("align", steps=6, lr=1e-4, out_dir=tmp_path, checkpoint_every=2), progress=False)
    assert len(first) == 4 and len(rest) == 2
    assert torch.load(tmp_path / CHECKPOINT, weights_only=False)["step"] == 6
    with pytest.raises(ValueError, match="checkpoint of stage 'align'"):
        train(model, examples, TrainConfig("lora", steps=8, lr=1e-4, out_dir=tmp_path), progress=False)


def test_stage_two_lora_exports_a_bundle_the_app_runs(model, examples, a0001_volume, tmp_path, adapter_logit_shift):
    from peft import get_peft_model_state_dict

    losses = train(model, examples, TrainConfig("lora", steps=2, lr=5e-5, out_dir=tmp_path / "lora"), progress=False)
    assert all(np.isfinite(losses))
    pairs = peft_to_gguf(get_peft_model_state_dict(model.llm))
    assert len(pairs) == 18 * 7  # every linear layer of the 18 blocks
    bundle = write_bundle(tmp_path / "bundle", model.vision.eval(), "ctchat-test", "0.0.1",
                          {"trained": True, "note": "2 steps of a test run"}, pairs, lora_alpha=32)
    assert bundle.lora_path is not None and bundle.trained
    assert adapter_logit_shift(bundle) > 0, "the exported adapter is trained and applied"
    chat = ChatSession(load_bundle(bundle.root), n_ctx=512)
    chat.load_scan(a0001_volume)
    answer = chat.ask(Question.yes_no("lung nodule"), max_tokens=3)
    # an empty answer (end token first) is valid after two steps; a finished one is required
    assert not answer.cancelled and answer.n_tokens <= 3 and answer.slice_scores.sum() == pytest.approx(1.0, abs=1e-5)
    chat.close()


def test_stage_two_tunes_the_3d_encoder_only_when_asked(model, examples, tmp_path):
    encoder = model.vision.scan.vit3d
    model.configure_stage("align")
    assert not any(p.requires_grad for p in model.llm.parameters()), "align: the LLM is frozen"
    model.configure_stage("lora")  # again, on the adapter the model already has
    assert all(p.requires_grad for n, p in model.llm.named_parameters() if "lora_" in n)
    assert not any(p.requires_grad for p in encoder.parameters()), "E3D-GPT: frozen by default"
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    model.train_encoder = True
    try:
        train(model, examples, TrainConfig("lora", steps=2, lr=5e-5, out_dir=tmp_path), progress=False)
    finally:
        model.train_encoder = False
    assert any(not torch.equal(before[k], v) for k, v in encoder.state_dict().items())


def test_resumed_lora_run_repeats_the_uninterrupted_one(model, examples, tmp_path):
    """LoRA dropout draws random masks: a resumed run continues the saved RNG, not a reseeded one."""
    from training.stages.trainer import trainable_state

    model.configure_stage("lora")
    start = trainable_state(model)

    def restart() -> None:
        named = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in start.items():
                named[name].copy_(value)

    whole = train(model, examples, TrainConfig("lora", steps=4, lr=1e-4, out_dir=tmp_path / "whole"), progress=False)
    restart()
    cfg = dict(lr=1e-4, out_dir=tmp_path / "parts", checkpoint_every=2)
    parts = train(model, examples, TrainConfig("lora", steps=2, **cfg), progress=False)
    parts += train(model, examples, TrainConfig("lora", steps=4, **cfg), progress=False)
    assert parts == pytest.approx(whole, rel=1e-6)
