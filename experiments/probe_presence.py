"""Linear probe: can lesion presence be read from the image tokens a bundle gives the LLM?

Ridge regression on [mean, max] of the 3D and 2D image tokens (for "Is there a nodule or mass
in the lungs?"), fitted on 64 cases of the training CTA crop (training seeds) and tested on 32
cases of another scan and seed range. Prints accuracy at the fitted threshold and AUC, which
ignores a shift of the baseline between scans.

Usage:
    .venv/bin/python experiments/probe_presence.py default nifti/chest_cta_heart_crop_totalseg_1p5mm.nii.gz 1000000
    .venv/bin/python experiments/probe_presence.py default nifti/chest_cta_aorta_crop_totalseg_1p5mm.nii.gz 5000
"""

from __future__ import annotations

import sys

import numpy as np

from inference.bundle import load_bundle
from inference.chat.session import ChatSession
from inference.preprocess import preprocess
from inference.question import Question
from inference.resources import shared_ct_dir
from training.data.cases import synthetic_cases
from training.data.synthetic import PRESENCE_QUESTION
from training.evaluation.metrics import roc_auc

TRAIN_SCAN = "nifti/chest_cta_aorta_crop_totalseg_1p5mm.nii.gz"


def token_features(session: ChatSession, scan: str, n: int, seed_base: int) -> tuple[np.ndarray, np.ndarray]:
    """Features of the image tokens and presence labels of ``n`` cases (half with a lesion)."""
    question = Question("open", PRESENCE_QUESTION)
    n3 = session.bundle.layout.n_tokens_3d
    features, labels = [], []
    for case in synthetic_cases(shared_ct_dir(), (scan,), n, seed_base):
        encoded = session.vision.encode_scan(preprocess(case.volume, session.bundle.recipe).array)
        tokens = session.attention.score(encoded, question, "").image_tokens
        features.append(np.concatenate([tokens[:n3].mean(0), tokens[n3:].mean(0), tokens[:n3].max(0), tokens[n3:].max(0)]))
        labels.append(case.lesion is not None)
    return np.array(features), np.array(labels)


def main(bundle: str, test_scan: str, test_seed_base: int) -> None:
    session = ChatSession(load_bundle(bundle), n_ctx=512)
    x_train, y_train = token_features(session, TRAIN_SCAN, 64, 0)
    x_test, y_test = token_features(session, test_scan, 32, test_seed_base)
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    a, b = (x_train - mu) / sd, (x_test - mu) / sd
    for lam in (1, 10, 100, 1000):
        w = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ (2.0 * y_train - 1))
        score = b @ w
        auc = roc_auc(score, y_test)
        print(f"ridge {lam:>5}: train acc {((a @ w > 0) == y_train).mean():.3f}  "
              f"test acc {((score > 0) == y_test).mean():.3f}  test AUC {auc:.3f}", flush=True)
    session.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
