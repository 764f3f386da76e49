"""The trainable model: vision encoder + perceiver + TG-IS feeding a causal LM (transformers).

The sequence is laid out exactly as the app's runtime feeds llama.cpp, from the same description
(the bundle's prompt format's :meth:`~inference.llm.prompt.PromptFormat.scan_segments` and
``question_segments``: scan prefix text, 3D image tokens, TG-IS-aggregated 2D tokens, the
question text), then the answer and EOS. Image tokens are multiplied by the same scale as at run time (sqrt(hidden)
for Gemma, whose embedding layer scales text tokens inside). Text is tokenized by llama.cpp's
tokenizer, so training and the runtime see the same ids. Only the answer is in the loss, and
only the answer's positions go through the LM head (the 262k-word head is most of the cost).

TG-IS trains end to end through the answer loss, as in Med-2E3. Where an example knows which
model slices hold its subject (a synthetic lesion), ``tgis_weight`` adds an auxiliary term,
``-log`` of the score mass on those slices: our addition, possible because the synthetic set has
ground truth that the papers' data lacks. Likewise ``lesion_weight`` adds a dense term on the 3D
image tokens themselves: a linear head (used in training only, not exported) reads from each
token whether its part of the scan holds the lesion, so every example of a case teaches the
vision side where a lesion is, instead of one answer word per question. With location codes
(:class:`~training.models.perceivers.LocationCodes`, preset ``tiny_loc``) that head is the codes'
gate and is exported with the vision graphs; the codes start as the LLM's own embeddings of the
words that name each cell's place.

Stages (E3D-GPT, Med-2E3):
* ``"align"`` (stage 1): the perceiver, the 2D connector and the TG-IS head train; the 3D and 2D
  encoders and the LLM are frozen.
* ``"lora"`` (stage 2): the same plus LoRA on every linear layer of the LLM (r 16, alpha 32,
  dropout 0.1) and the whole 2D slice encoder (Med-2E3 fine-tunes its 2D encoder on 3D data).
  ``train_encoder=True`` also tunes the 3D encoder: E3D-GPT keeps it frozen because theirs was
  pretrained on tens of thousands of scans; an encoder pretrained on a handful of scans
  encodes their anatomy, not small lesions, and has to learn those from the answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inference.llm.prompt import PromptFormat
from inference.llm.vocab import LlamaVocab, eos_token
from training.data.synthetic import third_name

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class Example:
    """One training item: a model input, its question's text vector, prompt and answer."""

    volume: np.ndarray  # (1, 1, D, H, W) float32
    text_vector: np.ndarray  # (hidden,)
    prompt: str  # the task prompt (e.g. "Question: ...\nAnswer:")
    answer: str
    lesion_slices: np.ndarray | None = None  # (D,) 1 on the model slices that hold the lesion
    kind: str = ""  # the question type (synthetic.QA.kind), e.g. "abnormality"
    lesion_tokens: np.ndarray | None = None  # (cells of cfg.lesion_grid,) 1 where the lesion is; None: unknown


def model_slice_target(model_to_original: np.ndarray, first: int, last: int) -> np.ndarray:
    """1 on the model slices whose centre lies on original slices ``first..last`` (inclusive).

    A lesion thinner than the model's slice spacing still marks the model slice nearest to it.
    """
    centres = np.asarray(model_to_original, dtype=np.float64)
    target = ((centres >= first - 0.5) & (centres <= last + 0.5)).astype(np.float32)
    if not target.any():
        target[int(np.nanargmin(np.abs(centres - (first + last) / 2)))] = 1.0
    return target


def cell_place(grid: tuple[int, int, int], d: int, w: int) -> tuple[str, str]:
    """The place words of the grid cell in slice layer ``d`` and column ``w``: the side from the
    column (the volume's columns run toward the patient's left), the third from the layer
    (upward). ``cell_place((4, 4, 4), 3, 0)`` is ``("right", "upper")``."""
    side = "right" if (w + 0.5) / grid[2] < 0.5 else "left"
    return side, third_name((d + 0.5) / grid[0])


class MultimodalModel(nn.Module):
    """``VisionModel`` + causal LM; ``forward(example)`` returns the answer's mean token loss."""

    def __init__(self, vision: nn.Module, llm: nn.Module, vocab: LlamaVocab, prompt: PromptFormat,
                 tgis_weight: float = 0.0, train_encoder: bool = False, lesion_weight: float = 0.0) -> None:
        super().__init__()
        self.tgis_weight = tgis_weight
        self.lesion_weight = lesion_weight
        location = vision.scan.location
        # with location codes, their gate is the lesion head (exported); else one for training only
        self.lesion_head = nn.Linear(vision.cfg.hidden, 1) if lesion_weight > 0 and location is None else None
        self.train_encoder = train_encoder
        self.vision = vision
        self.llm = llm
        self.vocab = vocab
        self.prompt = prompt
        self.scale = prompt.scale_for(int(llm.config.hidden_size))
        self._eos = eos_token(vocab)
        if location is not None:
            self._init_location_codes(location)

    def _init_location_codes(self, location: nn.Module) -> None:
        """Start each grid cell's code as the LLM's embedding of the words that name its place
        (:func:`cell_place`, e.g. "right upper"), so the LLM starts from words it knows;
        training then moves them."""
        location.init_codes(lambda d, h, w: self.words_embedding(*cell_place(location.grid, d, w)))

    def words_embedding(self, *words: str) -> torch.Tensor:
        """``(hidden,)``: the sum of the LLM's input embeddings of ``words``' tokens, each word
        tokenized as it follows a space (e.g. ``words_embedding("right", "upper")``)."""
        weight = self.llm.get_input_embeddings().weight.detach()
        return sum(weight[self.vocab.tokenize(" " + word)].float().sum(0) for word in words)

    @property
    def device(self) -> torch.device:
        """Where the model's weights are (inputs are moved there)."""
        return next(self.vision.parameters()).device

    def configure_stage(self, stage: str, lora_rank: int = 16, lora_alpha: int = 32, lora_dropout: float = 0.1) -> list[nn.Parameter]:
        """Freeze and unfreeze for ``"align"`` or ``"lora"`` (in stage 2 the 3D encoder too, if
        the model was built with ``train_encoder``); returns the trainable parameters."""
        if stage not in ("align", "lora"):
            raise ValueError(f"unknown stage {stage!r}")
        for p in self.parameters():
            p.requires_grad_(False)
        trainable = [self.vision.scan.perceiver, self.vision.scan.slice_encoder.connector, self.vision.question]
        for extra in (self.lesion_head, self.vision.scan.location):
            if extra is not None:
                trainable.append(extra)
        if stage == "lora":
            trainable.append(self.vision.scan.slice_encoder)
            if self.train_encoder:
                trainable.append(self.vision.scan.vit3d)
        for module in trainable:
            for p in module.parameters():
                p.requires_grad_(True)
        if stage == "lora" and not hasattr(self.llm, "peft_config"):
            from peft import LoraConfig, get_peft_model

            config = LoraConfig(r=lora_rank, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
                                target_modules=LORA_TARGETS, bias="none", task_type="CAUSAL_LM")
            self.llm = get_peft_model(self.llm, config)
        if stage == "lora":  # also when already wrapped: the loop above froze the adapter
            for name, p in self.llm.named_parameters():
                if "lora_" in name:
                    p.requires_grad_(True)
        return [p for p in self.parameters() if p.requires_grad]

    def vision_outputs(self, ex: Example) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``(slice_scores (1, D), image_tokens (1, n_3d + n_2d, hidden), lesion_logits (grid cells,))``
        of one example; the lesion logits are ``None`` without a lesion head."""
        device = self.device
        volume = torch.as_tensor(ex.volume, dtype=torch.float32, device=device)
        text_vector = torch.as_tensor(ex.text_vector, dtype=torch.float32, device=device).reshape(1, -1)
        tokens_3d, tokens_2d, features, lesion_logits = self.vision.scan.encode(volume)
        scores, image_tokens = self.vision.question(tokens_3d, tokens_2d, features, text_vector)
        if self.lesion_head is not None:
            lesion_logits = self.lesion_head(tokens_3d)[..., 0]
        return scores, image_tokens, None if lesion_logits is None else lesion_logits[0]

    def embed_sequence(self, ex: Example, vision_outputs: tuple | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(inputs_embeds (1, T, hidden), labels (1, T), slice_scores (1, D))`` of one example
        (``vision_outputs``: those of :meth:`vision_outputs`, when already computed)."""
        device = self.device
        scores, image_tokens = (vision_outputs if vision_outputs is not None else self.vision_outputs(ex))[:2]
        n3 = self.vision.cfg.n_tokens_3d
        embed = self.llm.get_input_embeddings()
        answer_ids = self.vocab.tokenize(" " + ex.answer.strip()) + [self._eos]
        images = {"image_3d": image_tokens[:, :n3] * self.scale, "image_2d": image_tokens[:, n3:] * self.scale}

        def text(ids: list[int]) -> torch.Tensor:
            return embed(torch.tensor([ids], dtype=torch.long, device=device))

        parts = []
        for segment in self.prompt.scan_segments() + self.prompt.question_segments(ex.prompt):
            ids = segment.token_ids(self.vocab.tokenize)
            if ids is None:
                parts.append(images[segment.kind])
            elif ids:
                parts.append(text(ids))
        embeds = torch.cat(parts + [text(answer_ids)], dim=1)
        labels = torch.full((1, embeds.shape[1]), -100, dtype=torch.long, device=device)
        labels[0, -len(answer_ids):] = torch.tensor(answer_ids, device=device)
        return embeds, labels, scores

    def answer_loss(self, embeds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the answer tokens (the labelled tail of the sequence)."""
        n = int((labels[0] != -100).sum())
        # logits of positions T-n-1 .. T-1; those before the last predict the n answer tokens
        logits = self.llm(inputs_embeds=embeds, logits_to_keep=n + 1).logits[:, :-1]
        return F.cross_entropy(logits.reshape(n, -1).float(), labels[0, -n:])

    def forward(self, ex: Example) -> torch.Tensor:
        outputs = self.vision_outputs(ex)
        embeds, labels, scores = self.embed_sequence(ex, outputs)
        loss = self.answer_loss(embeds, labels)
        if self.tgis_weight > 0 and ex.lesion_slices is not None:
            mass = (scores[0] * torch.as_tensor(ex.lesion_slices, dtype=scores.dtype, device=scores.device)).sum()
            loss = loss - self.tgis_weight * torch.log(mass.clamp_min(1e-6))
        lesion_logits = outputs[2]
        if self.lesion_weight > 0 and lesion_logits is not None and ex.lesion_tokens is not None:
            loss = loss + self.lesion_weight * lesion_token_loss(lesion_logits, ex.lesion_tokens)
        return loss


def lesion_token_loss(logits: torch.Tensor, target: np.ndarray) -> torch.Tensor:
    """Binary cross-entropy of per-token lesion logits, the lesion's few tokens weighing as much
    as all the others together (a lesion covers 1-8 of 64 tokens)."""
    target_t = torch.as_tensor(target, dtype=logits.dtype, device=logits.device)
    per_token = F.binary_cross_entropy_with_logits(logits, target_t, reduction="none")
    positive = target_t > 0.5
    if not positive.any():
        return per_token.mean()
    return 0.5 * (per_token[positive].mean() + per_token[~positive].mean())
