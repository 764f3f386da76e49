"""Med-2E3's vision side as two graphs: the scan graph (once per scan) and the question graph.

* scan: ``volume`` (1, 1, 32, 256, 256) -> ``image_tokens_3d`` (1, 256, H) (M3D-CLIP ViT,
  last block before its final norm, cls dropped, then the 3D connector), ``slice_tokens_2d``
  (1, 32, 256, H) (SigLIP per slice, then the 2D connector) and ``slice_features`` (1, 32, H)
  (TG-IS per-slice means);
* question: ``question_ids``, ``question_mask`` (1, L) int64 (the M3D-CLIP BERT tokenizer's
  output; Med-2E3 pads to L = 512), and the three scan outputs -> ``slice_scores`` (1, 32) and
  ``image_tokens`` (1, 512, H), the tokens spliced in where ``<image3d>`` stands.

Published files (``shiym2000/Med-2E3-M3D``): ``vision3d_model`` (``vision_encoder.*`` and
``language_encoder.*``), ``vision3d_connector`` (``_connector.*``, ``text_mlp.*``),
``vision2d_model`` (SigLIP, ``vision_model.*``), ``vision2d_connector`` (``_connector.*``).
Their own loader restores only ``_connector`` of the 3D connector, leaving ``text_mlp``
randomly initialised at their inference; we load the trained ``text_mlp`` from the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .bert_text import CHECKPOINT_PREFIX as BERT_PREFIX
from .bert_text import QuestionVector, build_bert
from .lamed import pool_grid_tokens
from .m3d_vit import M3DViT, M3DViTConfig
from .med2e3_parts import Connector2D, Connector3D, image_tokens, slice_features, tgis_scores
from .siglip_slices import SliceEncoder, build_siglip
from .state_dict import CheckpointError, load_published

VIT_PREFIX = "vision_encoder."
FILES = ("vision3d_model", "vision3d_connector", "vision2d_model", "vision2d_connector")
SCAN_INPUTS = ("volume",)
SCAN_OUTPUTS = ("image_tokens_3d", "slice_tokens_2d", "slice_features")
QUESTION_INPUTS = ("question_ids", "question_mask", "image_tokens_3d", "slice_tokens_2d",
                   "slice_features")
QUESTION_OUTPUTS = ("slice_scores", "image_tokens")


class Med2E3Vision(nn.Module):
    """Every Med-2E3 vision part, named per published file; :meth:`scan_graph` and
    :meth:`question_graph` give the two exportable modules."""

    def __init__(self, vit_cfg: M3DViTConfig, siglip: nn.Module, bert: nn.Module, llm_hidden: int) -> None:
        super().__init__()
        if siglip.config.image_size != vit_cfg.img_size[1] or vit_cfg.img_size[1] != vit_cfg.img_size[2]:
            raise CheckpointError(f"the SigLIP image size {siglip.config.image_size} does not match "
                               f"the volume's slices {vit_cfg.img_size[1:]}")
        self.vision3d = M3DViT(vit_cfg, output="last_block", keep_cls=False)
        self.connector3d = Connector3D(vit_cfg.grid, vit_cfg.hidden_size, llm_hidden,
                                       text_dim=bert.config.hidden_size)
        self.vision2d = SliceEncoder(siglip)
        self.connector2d = Connector2D(siglip.config.hidden_size, llm_hidden)
        self.bert = bert
        self.n_slabs = self.connector3d.pooled_grid[0]

    def load_published(self, files: Mapping[str, Mapping[str, torch.Tensor]]) -> list[str]:
        """Load the four state dicts, keyed by file folder name (see ``FILES``); returns the
        keys dropped as declared unused."""
        missing = [f for f in FILES if f not in files]
        if missing:
            raise CheckpointError(f"the Med-2E3 checkpoint lacks {', '.join(missing)}")
        v3 = files["vision3d_model"]
        dropped = load_published(self.vision3d, v3, VIT_PREFIX)
        dropped += load_published(self.bert, v3, BERT_PREFIX)
        dropped += load_published(self.connector3d, files["vision3d_connector"])
        dropped += self.vision2d.load_published(files["vision2d_model"])
        dropped += load_published(self.connector2d, files["vision2d_connector"])
        return dropped

    def scan_graph(self) -> nn.Module:
        return _ScanGraph(self)

    def question_graph(self) -> nn.Module:
        return QuestionGraph(QuestionVector(self.bert, self.connector3d.text_mlp))


class _ScanGraph(nn.Module):
    def __init__(self, parts: Med2E3Vision) -> None:
        super().__init__()
        self.vision3d, self.connector3d = parts.vision3d, parts.connector3d._connector
        self.grid, self.pool = parts.connector3d.grid, parts.connector3d.pooling_size
        self.vision2d, self.connector2d = parts.vision2d, parts.connector2d
        self.n_slabs = parts.n_slabs

    def forward(self, volume: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t3 = self.connector3d(pool_grid_tokens(self.vision3d(volume), self.grid, self.pool))
        t2 = self.connector2d(self.vision2d(volume))
        return t3, t2, slice_features(t3, t2, self.n_slabs)


class QuestionGraph(nn.Module):
    """BERT + ``text_mlp`` -> TG-IS scores -> image tokens (inputs: ``QUESTION_INPUTS``)."""

    def __init__(self, text: QuestionVector) -> None:
        super().__init__()
        self.text = text

    def forward(self, question_ids: torch.Tensor, question_mask: torch.Tensor,
                tokens_3d: torch.Tensor, tokens_2d: torch.Tensor, slice_feats: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = tgis_scores(slice_feats, self.text(question_ids, question_mask))
        return scores, image_tokens(tokens_3d, tokens_2d, scores)


def build_med2e3_vision(vision3d_config: Mapping[str, Any], siglip_config: Mapping[str, Any],
                        bert_config: Any, llm_hidden: int,
                        vit_cfg: M3DViTConfig | None = None) -> Med2E3Vision:
    """From ``vision3d_model/config.json`` (M3D-CLIP), ``vision2d_model/config.json`` (SigLIP),
    a ``BertConfig`` (see :func:`convert.towers.bert_text.bert_config_from_weights`) and the
    LLM width (3072 for Phi-3-mini); ``vit_cfg`` overrides the ViT sizes (tests)."""
    vit_cfg = vit_cfg or M3DViTConfig.from_m3d_clip(vision3d_config)
    return Med2E3Vision(vit_cfg, build_siglip(siglip_config), build_bert(bert_config), llm_hidden).eval()
