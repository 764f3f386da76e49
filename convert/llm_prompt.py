"""The token facts of the published models' LLMs, in llama.cpp's token ids, read from a
converted GGUF and the checkpoint's tokenizer files: what a bundle needs to prompt one (the
layouts themselves are :mod:`convert.prompt_format`'s).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ConversionError
from .llm_layouts import M3D_LAMED, MED2E3, MED3DVLM, LLMSource

IMAGE_TOKEN = "<im_patch>"
N_IMAGE = {M3D_LAMED: 256, MED3DVLM: 256, MED2E3: 512}
MED2E3_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the user's questions.")


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
