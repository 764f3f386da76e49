"""The published models' prompt layouts, in llama.cpp token ids: the reference the converted
bundles' prompt formats (:func:`convert.prompt_format.published_prompt_format`) are checked
against, itself checked against transformers on the published tokenizers (test_llm_*).

Each layout is what the model's own code builds (docs/published-models-llm.md cites it):

- ``m3d_lamed``: ``tokenizer("<im_patch>"*256 + " " + question)``, then the embeddings are
  spliced positionally, ``cat(E[:1], image, E[257:])``: position 0 keeps the first token
  (BOS when the tokenizer adds it, else the ``<im_patch>`` row), and without BOS the first
  question token is dropped.
- ``med3dvlm``: the same positional splice; Qwen2 adds no BOS, so position 0 is the
  ``<im_patch>`` row and the first question token is always dropped.
- ``med2e3``: ``SYSTEM + " USER: " + "<image3d>\\n" + question + " ASSISTANT:"``, the text on
  each side of ``<image3d>`` tokenised separately (BOS once, first, only if the tokenizer adds
  one), the 512 image vectors (256 3D, then 256 TG-IS-weighted 2D) inserted at ``<image3d>``.

How text after an image token is tokenised differs between llama.cpp and transformers'
SentencePiece tokenizers (llama.cpp adds a dummy-prefix space after every special token;
transformers' ``legacy=False`` does not), so :func:`prompt_layout` tokenises each piece on its
own, the way that reproduces the published tokenizer's ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from convert.llm_layouts import MED2E3, MED3DVLM
from convert.llm_prompt import MED2E3_SYSTEM, LLMFacts

Tokenize = Callable[[str], list[int]]  # text -> ids, no BOS, special tokens not parsed


@dataclass(frozen=True)
class PromptLayout:
    """One prompt: token ids, then ``n_image`` image vectors, then token ids."""

    before: tuple[int, ...]
    n_image: int
    after: tuple[int, ...]


def prompt_layout(facts: LLMFacts, question: str, tokenize: Tokenize) -> PromptLayout:
    """The published prompt for ``question`` (a VQA question), in llama.cpp token ids.

    Args:
        tokenize: llama.cpp's tokenizer of the converted GGUF, with no BOS and no special
            parsing (``LlamaRuntime.tokenize(text, parse_special=False)``).
    """
    question = question.strip()
    if facts.layout == MED2E3:
        before = ([facts.bos_id] if facts.prompt_has_bos else []) + tokenize(MED2E3_SYSTEM + " USER: ")
        return PromptLayout(tuple(before), facts.n_image, tuple(tokenize("\n" + question + " ASSISTANT:")))
    if facts.layout == MED3DVLM:
        asked = tokenize(" " + question)  # byte-level BPE: the space joins the first word
    elif facts.sp_legacy:
        asked = tokenize(" " + question)  # legacy SentencePiece: " q" keeps a lone "▁" first
    else:
        asked = tokenize(question)  # llama.cpp's dummy prefix is the space before the question
    if facts.prompt_has_bos:
        return PromptLayout((facts.bos_id,), facts.n_image, tuple(asked))
    # positional splice without BOS: position 0 is the <im_patch> row, the first question
    # token falls under image position 256 and is lost
    return PromptLayout((facts.image_token_id,), facts.n_image, tuple(asked[1:]))
