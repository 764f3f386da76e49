"""Experiment: does a trained model name where a lesion is, and from what? Scores the location
answers of held-out heart-crop lesion cases with the torch model of a ``ctchat train --stage
lora`` run folder, without sampling: each candidate answer's mean token loss, the lowest wins
(as multiple-choice benchmarks score a language model).

The phase question (multiple choice) is scored too, as the share right. Three location forms,
each reported as the share with the right side and the right third:
* ``choice``: "Where is the nodule? Choices: A. ... " -- the four "letter. place" answers;
* ``open``: "In which part of the lungs is the nodule?" -- the six "side third lung zone";
* ``findings``: the findings paragraph with each of the six places written in.

For the open form it also reports where the location token comes from: the grid cell the lesion
head ranks first (``detector``: whether that cell holds the lesion, and whether its place words,
:func:`cell_place`, name the right side and third) and the place whose word embeddings the
token is nearest by cosine (``token``).

``--zero-codes`` zeroes the location codes, so the location tokens are empty:
what changes is what the model read from it. Cases come from seeds 1,000,500 upward, apart
from ``ctchat eval``'s (1,000,000 upward), so choosing a design on them does not tune on the
evaluation's cases.

Usage:
    .venv/bin/python experiments/probe_location.py runs/lora_loc --config tiny_loc
    .venv/bin/python experiments/probe_location.py runs/lora_loc --config tiny_loc --zero-codes
    .venv/bin/python experiments/probe_location.py resources/bundles/default --config tiny_loc
"""

from __future__ import annotations

import argparse
import dataclasses
import re

import torch

from inference.bundle import load_bundle
from inference.llm.model_files import default_gguf_path
from inference.llm.prompt import PromptFormat, default_tasks
from inference.llm.text_vector import TextVectorizer
from inference.llm.vocab import LlamaVocab
from inference.resources import shared_ct_dir
from training.data.cases import EVAL_SEED_BASE, Case, ScanCases
from training.data.examples import training_examples
from training.export.read_back import is_bundle
from training.models.config import get_config
from training.models.hf_llm import load_training_llm
from training.models.multimodal import Example, MultimodalModel, cell_place
from training.models.vision_model import build_vision_model
from training.stages.warm_start import start_from_run

HEART = "nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz"
PLACES = [f"{side} {third}" for side in ("right", "left") for third in ("upper", "middle", "lower")]


def candidates(ex: Example, fmt: PromptFormat) -> tuple[str, dict[str, str]] | None:
    """``(true place, {place: full answer})`` of a location or findings example (for the phase
    question: ``(true phase, {phase: full answer})``), else None."""
    if ex.kind in ("location", "phase") and "Choices: " in ex.prompt:  # "C. left upper" or "left upper (C)"
        listed = ex.prompt.split("Choices: ", 1)[1].split("\n", 1)[0]
        if fmt.choice_answer == "letter_first":
            options = re.findall(r"([A-H])\. (.+?)(?= [A-H]\. |$)", listed)
        else:
            options = [(letter, text) for text, letter in re.findall(r"(.+?) \(([A-H])\) ?", listed)]
        answers = {text: fmt.answer_text("choice", f"{letter}. {text}") for letter, text in options}
        return next(text for text, answer in answers.items() if answer == ex.answer), answers
    if ex.kind == "location":  # open: "left upper lung zone"
        return ex.answer.removesuffix(" lung zone"), {p: f"{p} lung zone" for p in PLACES}
    found = re.search(r"in the (\w+ \w+) lung zone", ex.answer) if ex.kind == "findings" else None
    if found is None:
        return None
    return found.group(1), {p: ex.answer.replace(found.group(1), p) for p in PLACES}


def token_sources(model: MultimodalModel, ex: Example, truth: str) -> dict[str, tuple[bool, ...]]:
    """Whether the detector's top cell holds the lesion and names ``truth``'s side and third,
    and whether the location token is nearest (cosine) to ``truth``'s place words."""
    location = model.vision.scan.location
    with torch.no_grad():
        tokens, _, _, logits = model.vision.scan.encode(torch.as_tensor(ex.volume))
    top = int(logits[0].argmax())
    d, _, w = (int(i) for i in torch.unravel_index(torch.tensor(top), location.grid))
    side, third = cell_place(location.grid, d, w)
    def nearest(token: torch.Tensor, names: list[str]) -> str:
        return max(names, key=lambda p: float(torch.cosine_similarity(token, model.words_embedding(*p.split()), dim=0)))

    nearest_place = nearest(tokens[0, -1], PLACES).split()
    true_side, true_third = truth.split()
    hit = ex.lesion_tokens is not None and bool(ex.lesion_tokens[top])
    return {"detector": (hit, side == true_side, third == true_third),
            "token": (nearest_place[0] == true_side, nearest_place[1] == true_third)}


def load_trained_model(run: str, config: str) -> MultimodalModel:
    """The torch model of a stage-2 run folder or a bundle with an adapter (its prompt format
    read from the bundle), in eval mode."""
    gguf = default_gguf_path()
    fmt = load_bundle(run).prompt if is_bundle(run) else PromptFormat(tasks=default_tasks())
    model = MultimodalModel(build_vision_model(get_config(config)), load_training_llm(gguf), LlamaVocab(gguf),
                            fmt, lesion_weight=1.0)
    start_from_run(model, run, "lora")
    return model.eval()


def probe_lesion_cases(n: int) -> list[Case]:
    """``n`` held-out heart-crop lesion cases from seeds 1,000,500 upward (``ctchat eval``
    draws from 1,000,000, so probing does not tune on the evaluation's cases)."""
    source = ScanCases(shared_ct_dir(), HEART, lesion_free_parts=True)
    return [source.case(k, EVAL_SEED_BASE + 500 + k, crops=True) for k in range(0, 2 * n, 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="run folder of a stage-2 (lora) run, or a bundle with an adapter")
    parser.add_argument("--config", default="tiny_loc")
    parser.add_argument("--cases", type=int, default=12, help="lesion cases of the heart crop")
    parser.add_argument("--zero-codes", action="store_true")
    args = parser.parse_args()

    model = load_trained_model(args.run, args.config)
    if args.zero_codes:
        with torch.no_grad():
            model.vision.scan.location.codes.zero_()
    cases = probe_lesion_cases(args.cases)
    right: dict[str, list[tuple[bool, ...]]] = {}
    sources: dict[str, list[tuple[bool, ...]]] = {}
    thirds: list[str] = []
    for ex in training_examples(model, cases, TextVectorizer.from_gguf(default_gguf_path())):
        found = candidates(ex, model.prompt)
        if found is None:
            continue
        truth, answers = found
        losses = {}
        with torch.no_grad():
            seen = model.vision_outputs(ex)  # the same image and question for every candidate
            for place, answer in answers.items():
                embeds, labels, _ = model.embed_sequence(dataclasses.replace(ex, answer=answer), seen)
                losses[place] = float(model.answer_loss(embeds, labels))
        if ex.kind == "phase":
            right.setdefault("phase", []).append((min(losses, key=losses.get) == truth,))
            continue
        best = min(losses, key=losses.get).split()
        form = "findings" if ex.kind == "findings" else "choice" if "Choices: " in ex.prompt else "open"
        right.setdefault(form, []).append((best[0] == truth.split()[0], best[1] == truth.split()[1]))
        if form == "open":
            thirds.append(truth)
            for name, hits in token_sources(model, ex, truth).items():
                sources.setdefault(name, []).append(hits)
    labels = {"phase": ("right",), "detector": ("cell holds lesion", "side", "third")}
    for name, rows in {**right, **sources}.items():
        shares = [sum(col) / len(rows) for col in zip(*rows)]
        named = zip(labels.get(name, ("side", "third")), shares)
        print(f"{name:9s} n {len(rows)}: " + "  ".join(f"{label} {share:.3f}" for label, share in named))
    truths = [truth.split()[1] for truth in thirds]
    print("thirds of the open cases: " + ", ".join(f"{t} {truths.count(t)}" for t in ("upper", "middle", "lower")))


if __name__ == "__main__":
    main()
