"""The TG-IS text path of Med-2E3: M3D-CLIP's BERT (``language_encoder``), pooler output.

Med-2E3 calls ``language_encoder(questions, questions_mask).pooler_output`` (input ids and
attention mask; token types left at their zero default) on the question tokenised by the
M3D-CLIP BERT tokenizer, padded to 512. Its checkpoint (``vision3d_model/pytorch_model.bin``,
keys ``language_encoder.*``) records no BERT configuration: :func:`bert_config_from_weights`
reads the sizes from the tensor shapes, with BERT's 64-wide heads for the head count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .state_dict import CheckpointError, sub_state_dict

CHECKPOINT_PREFIX = "language_encoder."
HEAD_DIM = 64  # every published BERT size (base, large, small variants) uses 64-wide heads


def bert_config_from_weights(state_dict: Mapping[str, torch.Tensor], prefix: str = CHECKPOINT_PREFIX,
                             **overrides: Any) -> Any:
    """A ``BertConfig`` whose sizes fit the BERT weights under ``prefix``."""
    from transformers import BertConfig

    sd = sub_state_dict(state_dict, prefix)
    try:
        vocab, hidden = sd["embeddings.word_embeddings.weight"].shape
        max_pos = sd["embeddings.position_embeddings.weight"].shape[0]
        type_vocab = sd["embeddings.token_type_embeddings.weight"].shape[0]
        inter = sd["encoder.layer.0.intermediate.dense.weight"].shape[0]
    except KeyError as e:
        raise CheckpointError(f"the BERT weights under '{prefix}' lack {e.args[0]}") from None
    layers = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"encoder\.layer\.(\d+)\.", k)))
    sizes = dict(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                 num_attention_heads=max(1, hidden // HEAD_DIM), intermediate_size=inter,
                 max_position_embeddings=max_pos, type_vocab_size=type_vocab)
    return BertConfig(**{**sizes, **overrides})


def build_bert(config: Any, attn_implementation: str = "sdpa") -> nn.Module:
    """A ``BertModel`` with its pooler, in eval mode, randomly initialised."""
    from transformers import BertModel

    config._attn_implementation = attn_implementation
    return BertModel(config, add_pooling_layer=True).eval()


class QuestionVector(nn.Module):
    """``forward(input_ids (B, L), attention_mask (B, L)) -> text_mlp(pooler_output) (B, H)``."""

    def __init__(self, bert: nn.Module, text_mlp: nn.Linear) -> None:
        super().__init__()
        self.bert, self.text_mlp = bert, text_mlp

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = self.bert(input_ids=input_ids, attention_mask=attention_mask).pooler_output
        return self.text_mlp(pooled)
