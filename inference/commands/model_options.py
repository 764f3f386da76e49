"""The options of what a model is given and what else it computes, shared by ``ctchat ask`` and
``ctchat batch`` (``--slices``, ``--save-model-input``, ``--relevance``): declared once, so the
two commands cannot drift apart in name, type or meaning."""

from __future__ import annotations

import argparse


def add_model_options(parser: argparse.ArgumentParser, save_model_input_help: str) -> None:
    """Add ``--slices``, ``--save-model-input`` and ``--relevance`` to ``parser``.

    ``save_model_input_help`` is the command's own: one question writes one folder, a batch one
    folder per scan and question, and each help text says where its files go.
    """
    parser.add_argument("--slices", type=int, metavar="N",
                        help="slice-set bundles: send at most N slices per scan "
                             "(default: the recipe's, 85 for MedGemma 1.5)")
    parser.add_argument("--save-model-input", metavar="DIR", help=save_model_input_help)
    parser.add_argument("--relevance", action="store_true",
                        help="each answer's occlusion relevance too (slice_relevance: how much removing each slab "
                             "of slices lowers the answer's log-probability; one more pass per slab)")
