"""A bundle's slice attention (TG-IS), if it has one: the question as its graph reads it, and
the graph's run.

Our models score slices against the mean of the question's token embeddings in the LLM
(:class:`~inference.llm.text_vector.TextVectorizer`); Med-2E3 scores them against its own BERT
encoder's vector of the question, so its graph takes the question's BERT token ids
(:class:`~inference.vision.question_text.QuestionTokenizer`). M3D-LaMed and Med3DVLM have no
slice attention at all: :meth:`SliceAttention.score` gives None and nothing is made up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..bundle import Bundle, BundleError
from ..question import Question
from ..vision.runtime import QuestionResult, VisionRuntime


class SliceAttention:
    """The TG-IS scores and tokens of each question, the way the bundle declares them."""

    def __init__(self, bundle: Bundle, vision: VisionRuntime, tokenize: Any) -> None:
        self.vision = vision
        self._tokenize = tokenize
        self._vectors = None
        self._tokenizer = None
        source = bundle.question_text
        if bundle.question_graph is None:
            return
        if source.get("kind") == "llm_embedding":
            from ..llm.text_vector import TextVectorizer

            self._vectors = TextVectorizer.from_gguf(bundle.llm_path)
        elif source.get("kind") == "tokenizer":
            from ..vision.question_text import QuestionTokenizer

            path = bundle.root / source["file"]
            if not path.is_file():
                raise BundleError(f"{bundle.root.name}: the TG-IS tokenizer {source['file']} is missing")
            self._tokenizer = QuestionTokenizer(path, source["max_length"])
        else:
            raise BundleError(f"{bundle.root.name}: unknown TG-IS question source {source.get('kind')!r}")

    @property
    def available(self) -> bool:
        """Whether the model has slice attention."""
        return self.vision.question_session is not None

    def score(self, scan: dict[str, np.ndarray], question: Question, prompt_text: str) -> QuestionResult | None:
        """The question graph's slice scores and image tokens, or None without TG-IS.

        The text is the question itself, without prompt scaffolding (the report task, which
        has none, reads the bundle's instruction for it)."""
        if not self.available:
            return None
        text = question.tgis_text() or prompt_text
        if self._tokenizer is not None:
            return self.vision.ask(scan, question_tokens=self._tokenizer.encode(text))
        return self.vision.ask(scan, self._vectors.vector_from_ids(self._tokenize(text)))
