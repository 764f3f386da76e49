"""The token facts and prompt layouts of the published models, in llama.cpp's token ids.

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

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .errors import ConversionError
from .llm_layouts import M3D_LAMED, MED2E3, MED3DVLM, LLMSource

IMAGE_TOKEN = "<im_patch>"
N_IMAGE = {M3D_LAMED: 256, MED3DVLM: 256, MED2E3: 512}
MED2E3_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the user's questions.")

Tokenize = Callable[[str], list[int]]  # text -> ids, no BOS, special tokens not parsed


@dataclass(frozen=True)
class LLMFacts:
    """What a bundle needs to prompt a converted published LLM.

    Attributes:
        layout: ``m3d_lamed``, ``med2e3`` or ``med3dvlm``.
        family: ``phi3``, ``llama`` or ``qwen2``.
        n_vocab: rows of the GGUF's vocabulary (= the embedding's rows).
        n_embd: the LLM's width (the image vectors' width).
        bos_id: the GGUF's BOS id (None when it has none).
        prompt_has_bos: whether the published prompt starts with BOS.
        eos_id: the GGUF's EOS id.
        stop_ids: the ids the published generation stops at (generation_config.json's
            ``eos_token_id`` where their ``generate`` uses it, else the tokenizer's EOS).
        eog_ids: the ids llama.cpp treats as end of generation (a superset, usually).
        image_token_id: ``<im_patch>``'s id (None for Med-2E3, whose placeholder is never
            embedded).
        n_image: image vectors per prompt.
        sp_legacy: for SentencePiece tokenizers, transformers' ``legacy`` flag as the published
            tokenizer_config.json sets it (transformers 4.x: True when absent); None for BPE.
    """

    layout: str
    family: str
    n_vocab: int
    n_embd: int
    bos_id: int | None
    prompt_has_bos: bool
    eos_id: int
    stop_ids: tuple[int, ...]
    eog_ids: tuple[int, ...]
    image_token_id: int | None
    n_image: int
    sp_legacy: bool | None

    def to_dict(self) -> dict:
        """JSON-ready form for a bundle manifest."""
        data = asdict(self)
        data["stop_ids"], data["eog_ids"] = list(self.stop_ids), list(self.eog_ids)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "LLMFacts":
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["stop_ids"], data["eog_ids"] = tuple(data["stop_ids"]), tuple(data["eog_ids"])
        return cls(**data)


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


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _published_flags(source: LLMSource) -> tuple[bool, bool | None]:
    """(prompt has BOS, SentencePiece legacy flag) as transformers 4.x reads the tokenizer."""
    tok_config = next((_json(p) for p in source.tokenizer_files if p.name == "tokenizer_config.json"), {})
    if source.family == "qwen2":
        return bool(tok_config.get("bos_token")) and bool(tok_config.get("add_bos_token", False)), None
    # LlamaTokenizer (slow, as the published code loads it): add_bos_token and legacy default True
    return bool(tok_config.get("add_bos_token", True)), tok_config.get("legacy") is not False


def _stop_ids(source: LLMSource, eos_id: int) -> tuple[int, ...]:
    if source.layout == MED2E3:  # src/inference.py passes eos_token_id=tokenizer.eos_token_id
        return (eos_id,)
    value = _json(source.folder / "generation_config.json").get("eos_token_id", eos_id)
    ids = value if isinstance(value, list) else [value]
    return tuple(sorted(set(int(i) for i in ids)))


def gguf_metadata(vocab, key: str) -> str | None:
    """A GGUF metadata value as text, from a loaded :class:`~inference.llm.vocab.LlamaVocab`."""
    import ctypes

    buf = ctypes.create_string_buffer(256)
    n = vocab._ll.llama_model_meta_val_str(vocab._model, key.encode(), buf, len(buf))
    return buf.value.decode("utf-8", "replace") if n >= 0 else None


def read_facts(source: LLMSource, gguf: str | Path) -> LLMFacts:
    """The facts of a converted LLM, from its GGUF (through llama.cpp) and its source files.

    Raises:
        ConversionError: the GGUF cannot be read, or it contradicts the source tokenizer
            (e.g. ``<im_patch>`` is not one token, or has another id than added_tokens.json).
    """
    from inference.llm import LLMError
    from inference.llm.vocab import LlamaVocab

    try:
        vocab = LlamaVocab(gguf)
    except LLMError as exc:
        raise ConversionError(f"{exc}: convert it again") from exc
    ll, v = vocab._ll, vocab._vocab
    n_vocab = ll.llama_vocab_n_tokens(v)
    bos, eos = ll.llama_vocab_bos(v), ll.llama_vocab_eos(v)
    eog = tuple(t for t in range(n_vocab) if ll.llama_vocab_is_eog(v, t))
    # llama.cpp leaves n_embd at 0 in a vocabulary-only load; the metadata has it
    n_embd = int(gguf_metadata(vocab, f"{gguf_metadata(vocab, 'general.architecture')}.embedding_length") or 0)
    image_id = None
    if source.layout != MED2E3:
        ids = vocab.tokenize(IMAGE_TOKEN, parse_special=True)
        if len(ids) != 1:
            raise ConversionError(f"{gguf} does not hold {IMAGE_TOKEN} as one token: the tokenizer files were not carried over")
        image_id = ids[0]
        added = next((_json(p) for p in source.tokenizer_files if p.name == "added_tokens.json"), {})
        if added.get(IMAGE_TOKEN, image_id) != image_id:
            raise ConversionError(f"{IMAGE_TOKEN} is {image_id} in {gguf} but {added[IMAGE_TOKEN]} in added_tokens.json")
    has_bos, legacy = _published_flags(source)
    if has_bos and bos < 0:
        raise ConversionError(f"the published tokenizer adds BOS but {gguf} has none")
    return LLMFacts(source.layout, source.family, n_vocab, n_embd, bos if bos >= 0 else None, has_bos,
                    eos, _stop_ids(source, eos), eog, image_id, N_IMAGE[source.layout], legacy)
