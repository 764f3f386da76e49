"""Experiment: which lesions does a bundle's open location answer miss, and does its presence
answer agree?

Asks, through the app's runtime (ONNX Runtime + llama.cpp, as ``ctchat eval``), the open
location question of the held-out lesion cases of ``ctchat eval --kinds location --cases N``
(the same cases), and the abnormality question where the case has one. Prints each lesion's
diameter with whether the location answer names no place (a miss) and the presence answer,
then the misses per diameter band and how often the two answers agree.

Usage:
    .venv/bin/python experiments/probe_missed_lesions.py --bundle default --cases 128
"""

from __future__ import annotations

import argparse

import numpy as np

from inference.bundle import load_bundle
from inference.chat import ChatSession
from inference.resources import shared_ct_dir
from training.data.cases import EVAL_SCANS, EVAL_SEED_BASE, synthetic_cases
from training.evaluation.evaluate import only_kinds
from training.evaluation import metrics as M

BANDS_MM = ((0.0, 12.0), (12.0, 20.0), (20.0, 40.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default="default")
    parser.add_argument("--cases", type=int, default=128, help="cases per held-out scan, as ctchat eval")
    args = parser.parse_args()

    cases = list(synthetic_cases(shared_ct_dir(), EVAL_SCANS, args.cases, EVAL_SEED_BASE, crops=True))
    lesion_cases = [c for c in only_kinds(cases, ("location", "abnormality")) if c.lesion is not None]
    session = ChatSession(load_bundle(args.bundle))
    diameters, missed, said_yes = [], [], []  # said_yes: None where presence was not asked
    for case in lesion_cases:
        session.load_scan(case.volume)
        where = next(qa for qa in case.qas if qa.kind == "location" and qa.task == "open")
        answer = session.ask(where.question).text
        presence = next((qa for qa in case.qas if qa.kind == "abnormality"), None)
        said = None if presence is None else M.parse_yes_no(session.ask(presence.question).text)
        diameters.append(case.lesion.diameter_mm)
        missed.append(M.named_place(answer) == (None, None))
        said_yes.append(None if presence is None else said is True)  # "no" or neither: not "yes"
        print(f"{case.lesion.diameter_mm:5.1f} mm  missed {missed[-1]!s:5}  presence {said!s:5}  {answer!r}")
    session.close()

    d, m = np.array(diameters), np.array(missed)
    for lo, hi in BANDS_MM:
        band = (d >= lo) & (d < hi)
        print(f"{lo:.0f}-{hi:.0f} mm: {band.sum()} lesions, {m[band].sum()} missed")
    asked = [(mi, yes) for mi, yes in zip(missed, said_yes) if yes is not None]
    agree = sum(1 for mi, yes in asked if mi != yes)
    print(f"presence asked of {len(asked)}: location and presence answers agree on {agree} "
          f"(missed and not 'yes': {sum(1 for mi, yes in asked if mi and not yes)}, "
          f"a place and not 'yes': {sum(1 for mi, yes in asked if not mi and not yes)}, "
          f"missed and 'yes': {sum(1 for mi, yes in asked if mi and yes)})")


if __name__ == "__main__":
    main()
