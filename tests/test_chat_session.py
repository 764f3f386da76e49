"""Bundles and the chat session, end to end on the real A0001 chest with the default bundle."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from inference.bundle import BundleError, load_bundle, write_manifest
from inference.chat import ChatSession
from inference.cli import main
from inference.llm import ContextOverflow, LLMError
from inference.question import Choice, Question, QuestionError


@pytest.fixture(scope="module")
def bundle():
    return load_bundle("default")


@pytest.fixture(scope="module")
def chat(bundle, a0001_volume):
    session = ChatSession(bundle, n_ctx=1024)
    session.load_scan(a0001_volume)
    yield session
    session.close()


def copy_bundle(bundle, tmp_path):
    dst = tmp_path / "bundle"
    shutil.copytree(bundle.root, dst)
    return dst


def test_default_bundle_declares_what_it_is(bundle):
    m = bundle.manifest
    assert "not a medical device" in m["intended_use"].lower()
    training = m["training"]
    assert training["trained"] is True and "not a medical device" in training["note"]
    # stage 2 ran four times: then with location codes, twice, then the LoRA alone on answers
    # letter last, each continuing the LoRA before
    assert [s["stage"] for s in training["stages"]] == ["lesion", "align", "lora", "lora", "lora", "lora"]
    assert training["stages"][-1]["continued_lora"] and m["vision"]["config"]["perceiver"]["location_codes"]
    assert training["stages"][-1]["choice_answer"] == bundle.prompt.choice_answer == "letter_last"
    assert "held out for evaluation" in training["data"] and bundle.lora_path is not None
    assert bundle.layout.hidden == 640 and bundle.layout.n_model_slices == bundle.recipe.target_shape_zyx[0]
    assert bundle.llm_path.name == "gemma-3-270m-Q4_K_M.gguf"


def test_damaged_bundle_file_is_refused(bundle, tmp_path):
    root = copy_bundle(bundle, tmp_path)
    data = bytearray((root / "scan.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (root / "scan.onnx").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="SHA-256"):
        load_bundle(root)


def test_missing_manifest_and_unknown_bundle(tmp_path):
    with pytest.raises(BundleError, match="no manifest.json"):
        load_bundle(tmp_path)
    with pytest.raises(BundleError, match="no model bundle"):
        load_bundle("no-such-bundle")


def test_hidden_size_mismatch_between_vision_and_llm(bundle, tmp_path):
    root = copy_bundle(bundle, tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["token_layout"]["hidden"] = 768
    write_manifest(root, manifest, list(manifest["files"]))
    with pytest.raises(LLMError, match="hidden size 640"):
        ChatSession(load_bundle(root))


def test_answer_streams_and_carries_its_slice_scores(chat, a0001_volume):
    pieces = []
    answer = chat.ask("Is there a mass in the right lung?", max_tokens=12, on_text=pieces.append)
    assert answer.n_tokens >= 1 and "".join(pieces).strip() == answer.text
    assert answer.slice_scores.shape == (chat.bundle.layout.n_model_slices,)
    assert answer.slice_scores.sum() == pytest.approx(1.0, abs=1e-5)
    assert answer.original_scores.shape == (a0001_volume.shape[0],)
    peak = int(np.argmax(answer.original_scores))
    assert answer.top_slices[0] == peak
    # the peak on the original slices lies within half a model slice of the model's peak
    model_peak = int(np.argmax(answer.slice_scores))
    assert abs(chat.model_input.slice_map.original_to_model[peak] - model_peak) <= 0.5
    assert set(answer.timings) >= {"time_to_first_token", "tokens_per_second", "question_graph"}


def test_follow_up_reuses_the_scan_and_is_deterministic(chat):
    prefix = chat._prefix_end
    first = chat.ask("Which organ is enlarged?", max_tokens=10)
    other = chat.ask("Is there a pleural effusion?", max_tokens=10)
    again = chat.ask("Which organ is enlarged?", max_tokens=10)
    assert chat._prefix_end == prefix, "the image prefix is decoded once per scan"
    assert again.text == first.text
    assert np.array_equal(again.slice_scores, first.slice_scores)
    assert not np.array_equal(other.slice_scores, first.slice_scores), "scores depend on the question"
    assert [a.question.text for a in chat.history[-3:]] == ["Which organ is enlarged?", "Is there a pleural effusion?", "Which organ is enlarged?"]


def test_tasks_use_the_papers_templates(chat):
    yes_no = chat.ask(Question.yes_no("emphysema"), max_tokens=4)
    assert yes_no.question.shown == "Does this image show signs of emphysema?" and yes_no.task == "yes_no"
    choice = chat.ask(Question("choice", "Which plane is this image?", ("axial", "coronal", "sagittal")), max_tokens=4)
    assert choice.task == "choice"
    assert chat.ask(Question.findings(), max_tokens=4).question.shown == "Write the findings of this CT scan."
    with pytest.raises(QuestionError, match="unknown task"):
        Question("poem", "x")


def test_context_overflow_is_said_before_decoding(chat):
    with pytest.raises(ContextOverflow):
        chat.ask("Describe everything.", max_tokens=5000)
    assert chat.ask("Is the heart enlarged?", max_tokens=3).n_tokens >= 1, "the session still works"


def test_ctchat_ask_json(ct_dir, capsys):
    path = ct_dir / "nifti" / "chest_cta_heart_crop_totalseg_1p5mm.nii.gz"
    assert main(["ask", str(path), "Is the heart enlarged?", "--json", "--max-tokens", "6"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bundle"]["name"] == "ctchat-default" and out["bundle"]["trained"] is True
    assert len(out["slice_scores"]["original_slices"]) == 112
    assert sum(out["slice_scores"]["model_slices"]) == pytest.approx(1.0, abs=1e-4)
    assert {"encode_vision", "time_to_first_token", "tokens_per_second"} <= set(out["timings_s"])
    assert out["providers"][-1] == "CPUExecutionProvider"


def test_yes_probability_reads_the_first_word(chat, bundle, a0001_volume):
    from training.data.synthetic import PRESENCE_QUESTION
    from training.evaluation.metrics import parse_yes_no

    answer = chat.ask(PRESENCE_QUESTION, max_tokens=3)
    said = parse_yes_no(answer.text)
    assert said is not None and 0.0 < answer.yes_probability < 1.0
    assert (answer.yes_probability > 0.5) == said, "greedy decoding says the likelier of yes and no"
    # with the image zeroed the probability cannot depend on the scan
    blind = ChatSession(bundle, n_ctx=512, zero_image=True)
    probabilities = []
    for volume in (a0001_volume, a0001_volume.cropped((8, 0, 0), (40, 512, 512))):
        blind.load_scan(volume)
        probabilities.append(blind.ask(PRESENCE_QUESTION, max_tokens=1).yes_probability)
    blind.close()
    assert probabilities[0] == pytest.approx(probabilities[1], abs=1e-6)


def test_a_choice_answer_is_always_one_of_the_options(chat):
    """Asked for the plane without "axial" among the options, the model alone answers
    "axial (B)" (its training's answer, lettered as sagittal); the grammar lets it write only
    "coronal (A)" or "sagittal (B)", in full even under a limit of 2 tokens, and says which."""
    question = Question("choice", "In which plane is this CT shown?", ("coronal", "sagittal"))
    answer = chat.ask(question, max_tokens=2)
    assert answer.text in ("coronal (A)", "sagittal (B)")
    assert answer.choice == Choice(answer.text[-2], answer.text[:-4])
    where = chat.ask(Question("choice", "Where is the nodule?", ("liver", "kidney", "spleen")))
    assert where.text in ("liver (A)", "kidney (B)", "spleen (C)") and where.choice.text in where.text
    assert chat.ask("Is there a nodule?", max_tokens=3).choice is None


def test_ctchat_ask_json_says_which_option(a0001_dicom, capsys):
    assert main(["ask", str(a0001_dicom), "Which plane?", "--task", "choice", "--choices", "coronal", "sagittal",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answer"] == f"{out['choice']['text']} ({out['choice']['letter']})"
    assert out["choice"]["text"] in ("coronal", "sagittal")
