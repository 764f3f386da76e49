"""Experiment: how much of a lesion's diameter the vision side of a trained model carries.

For held-out heart-crop lesion cases (``probe_location.probe_lesion_cases``: apart from
``ctchat eval``'s), it
compares the diameter with what the location gate's per-cell lesion logits give (the largest
logit, the sum of their sigmoids, the number of cells above 0.5) and with the true number of
cells the lesion touches (a bound: what a perfect detector on that grid would count). For each,
a straight-line fit's leave-one-out error: the median, in mm, and the share within 5 mm,
against predicting the mean diameter.

Usage:
    .venv/bin/python experiments/probe_size.py resources/bundles/default --cases 40
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from probe_location import load_trained_model, probe_lesion_cases  # (experiments/ is this script's path)

from inference.llm.model_files import default_gguf_path
from inference.llm.text_vector import TextVectorizer
from training.data.examples import training_examples
from training.evaluation.scoring import SIZE_TOLERANCE_MM


def leave_one_out(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute errors predicting each ``y`` from a line fitted to the others, and from their mean."""
    fitted, mean = [], []
    for k in range(len(y)):
        rest = np.arange(len(y)) != k
        fitted.append(abs(np.polyval(np.polyfit(x[rest], y[rest], 1), x[k]) - y[k]))
        mean.append(abs(y[rest].mean() - y[k]))
    return np.array(fitted), np.array(mean)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a bundle with location codes (tiny_loc), or a stage-2 run folder")
    parser.add_argument("--config", default="tiny_loc")
    parser.add_argument("--cases", type=int, default=40, help="lesion cases of the heart crop")
    args = parser.parse_args()

    model = load_trained_model(args.run, args.config)
    cases = probe_lesion_cases(args.cases)
    vectorizer = TextVectorizer.from_gguf(default_gguf_path())
    sized = [e for e in training_examples(model, cases, vectorizer) if e.kind == "size"]
    rows = []
    for case, ex in zip(cases, sized):
        with torch.no_grad():
            logits = model.vision.scan.encode(torch.as_tensor(ex.volume))[3][0]
        p = torch.sigmoid(logits).numpy()
        rows.append((case.lesion.diameter_mm, float(logits.max()), float(p.sum()), float((p > 0.5).sum()),
                     float(np.sum(ex.lesion_tokens))))
    table = np.array(rows)
    diameter = table[:, 0]
    print(f"{len(table)} lesions, diameter {diameter.min():.0f}-{diameter.max():.0f} mm, "
          f"{logits.numel()} cells")
    for i, name in enumerate(["largest logit", "sum of sigmoids", "cells above 0.5", "true lesion cells"], 1):
        fitted, mean = leave_one_out(table[:, i], diameter)
        r = np.corrcoef(table[:, i], diameter)[0, 1]
        print(f"{name:18s} r {r:+.2f}  median error {np.median(fitted):.1f} mm (mean only {np.median(mean):.1f}), "
              f"within {SIZE_TOLERANCE_MM:.0f} mm {np.mean(fitted <= SIZE_TOLERANCE_MM):.2f} "
              f"(mean only {np.mean(mean <= SIZE_TOLERANCE_MM):.2f})")


if __name__ == "__main__":
    main()
