"""Experiment: does a trained model name where a lesion is, and from what? Scores the location
answers of held-out heart-crop lesion cases with the torch model of a ``ctchat train --stage
lora`` run folder, without sampling: each candidate answer's mean token loss, the lowest wins
(as multiple-choice benchmarks score a language model).

Three forms, each reported as the share with the right side and the right third:
* ``choice``: "Where is the nodule? Choices: A. ... " -- the four "letter. place" answers;
* ``open``: "In which part of the lungs is the nodule?" -- the six "side third lung zone";
* ``findings``: the findings paragraph with each of the six places written in.

``--zero-codes`` zeroes the location codes (``tiny_loc``), so the location token is empty:
what changes is what the model read from it. Cases come from seeds 1,000,500 upward, apart
from ``ctchat eval``'s (1,000,000 upward), so choosing a design on them does not tune on the
evaluation's cases.

Usage:
    .venv/bin/python scripts/probe_location.py runs/lora_loc --config tiny_loc
    .venv/bin/python scripts/probe_location.py runs/lora_loc --config tiny_loc --zero-codes
"""

from __future__ import annotations

import argparse
import dataclasses
import re

import torch

from inference.llm.model_files import default_gguf_path
from inference.llm.prompt import PromptFormat, default_tasks
from inference.llm.vocab import LlamaVocab
from inference.resources import shared_ct_dir
from inference.training.evaluate import EVAL_SEED_BASE, ScanCases
from inference.training.examples import training_examples
from inference.training.hf_llm import load_training_llm
from inference.training.multimodal import Example, MultimodalModel
from inference.training.warm_start import start_from_run
from inference.vision.config import get_config
from inference.vision.text_vector import TextVectorizer
from inference.vision.vision_model import build_vision_model

HEART = "nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz"
PLACES = [f"{side} {third}" for side in ("right", "left") for third in ("upper", "middle", "lower")]


def candidates(ex: Example) -> tuple[str, dict[str, str]] | None:
    """``(true place, {place: full answer})`` of a location or findings example, else None."""
    if ex.kind == "location" and ". " in ex.answer:  # choice: "C. left upper"
        options = re.findall(r"([A-D])\. (\w+ \w+)", ex.prompt.split("Choices: ", 1)[1].split("\n", 1)[0])
        return ex.answer.split(". ", 1)[1], {place: f"{letter}. {place}" for letter, place in options}
    if ex.kind == "location":  # open: "left upper lung zone"
        return ex.answer.removesuffix(" lung zone"), {p: f"{p} lung zone" for p in PLACES}
    found = re.search(r"in the (\w+ \w+) lung zone", ex.answer) if ex.kind == "findings" else None
    if found is None:
        return None
    return found.group(1), {p: ex.answer.replace(found.group(1), p) for p in PLACES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="run folder of a stage-2 (lora) run")
    parser.add_argument("--config", default="tiny_loc")
    parser.add_argument("--cases", type=int, default=12, help="lesion cases of the heart crop")
    parser.add_argument("--zero-codes", action="store_true")
    args = parser.parse_args()

    gguf = default_gguf_path()
    model = MultimodalModel(build_vision_model(get_config(args.config)), load_training_llm(gguf), LlamaVocab(gguf),
                            PromptFormat(tasks=default_tasks()), lesion_weight=1.0)
    start_from_run(model, args.run, "lora")
    model.eval()
    if args.zero_codes:
        with torch.no_grad():
            model.vision.scan.location.codes.zero_()
    source = ScanCases(shared_ct_dir(), HEART, lesion_free_parts=True)
    cases = [source.case(n, EVAL_SEED_BASE + 500 + n, crops=True) for n in range(0, 2 * args.cases, 2)]
    right: dict[str, list[tuple[bool, bool]]] = {}
    for ex in training_examples(model, cases, TextVectorizer.from_gguf(gguf)):
        found = candidates(ex)
        if found is None:
            continue
        truth, answers = found
        losses = {}
        for place, answer in answers.items():
            with torch.no_grad():
                embeds, labels, _ = model.embed_sequence(dataclasses.replace(ex, answer=answer))
                losses[place] = float(model.answer_loss(embeds, labels))
        best = min(losses, key=losses.get).split()
        form = "findings" if ex.kind == "findings" else "choice" if ". " in ex.answer else "open"
        right.setdefault(form, []).append((best[0] == truth.split()[0], best[1] == truth.split()[1]))
    for form, hits in right.items():
        n = len(hits)
        print(f"{form:9s} n {n}: side {sum(s for s, _ in hits) / n:.3f}  third {sum(t for _, t in hits) / n:.3f}")


if __name__ == "__main__":
    main()
