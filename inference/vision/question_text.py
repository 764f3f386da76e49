"""The question as a TG-IS text encoder of a bundle reads it: its own tokenizer's ids and mask.

Med-2E3 scores slices against a BERT vector of the question, tokenized by BERT's WordPiece
tokenizer (padded to a fixed length, as its data loader does). The bundle carries that
tokenizer as a ``tokenizer.json`` read by the ``tokenizers`` library (no transformers, no torch).

Example:
    >>> tok = QuestionTokenizer("bundle/tgis_tokenizer.json", max_length=512)   # doctest: +SKIP
    >>> feeds = tok.encode("Where is the nodule?")                             # doctest: +SKIP
    >>> feeds["question_ids"].shape                                            # doctest: +SKIP
    (1, 512)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class QuestionTokenizer:
    """``encode(question)`` -> ``{"question_ids", "question_mask"}``, int64 ``(1, max_length)``."""

    def __init__(self, path: str | Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self.path = Path(path)
        self.max_length = int(max_length)
        self._tokenizer = Tokenizer.from_file(str(self.path))
        self._tokenizer.enable_truncation(self.max_length)
        self._tokenizer.enable_padding(length=self.max_length)

    def encode(self, question: str) -> dict[str, np.ndarray]:
        """Token ids and attention mask of ``question``, padded and truncated to ``max_length``."""
        encoding = self._tokenizer.encode(question)
        return {"question_ids": np.asarray([encoding.ids], dtype=np.int64),
                "question_mask": np.asarray([encoding.attention_mask], dtype=np.int64)}
