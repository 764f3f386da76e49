"""Random-weight checkpoints in the three published layouts, at reduced width.

Same file names, config keys and state-dict key names as the published folders
(docs/published-models-llm.md), with dummy vision / projector / segmentation tensors that the
converter must drop. The LLM weights come from the stock transformers class of each family
(so the names are exactly what the published models saved), re-drawn with a larger spread
so that the logits are far from uniform.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from fixture_tokenizers import (LAMED_PLAIN, LAMED_SPECIAL, PHI3_ADDED, write_qwen2_tokenizer,
                                write_spm_tokenizer)

IMAGE_KEYS = ("image_channel", "image_size", "patch_size", "vision_tower", "vision_select_layer",
              "vision_select_feature", "mm_projector_type", "proj_layer_type", "proj_layer_num",
              "proj_pooling_type", "proj_pooling_size", "mm_hidden_size", "segmentation_module",
              "seg_token_id", "img_token_id", "proj_out_num", "input_size", "dim", "depth",
              "mm_mlp_depth", "low_output_size", "high_output_size", "low_input_size", "high_input_size")


@dataclass
class Checkpoint:
    """A written checkpoint: its folder, the LLM's config for transformers, its LLM weights."""

    folder: Path
    family: str
    llm_config: dict
    state_dict: dict
    token_ids: dict  # added token -> id

    def reference_model(self):
        """transformers' own class of the family, holding exactly these LLM weights (float32)."""
        import transformers

        cls_name, cfg_name = {"phi3": ("Phi3ForCausalLM", "Phi3Config"),
                              "llama": ("LlamaForCausalLM", "LlamaConfig"),
                              "qwen2": ("Qwen2ForCausalLM", "Qwen2Config")}[self.family]
        config = getattr(transformers, cfg_name)(**self.llm_config)
        config._attn_implementation = "eager"
        model = getattr(transformers, cls_name)(config).float().eval()
        missing, unexpected = model.load_state_dict({k: v.float() for k, v in self.state_dict.items()}, strict=False)
        assert not unexpected and all("rotary" in k for k in missing), (missing, unexpected)
        return model


def random_llm(family: str, llm_config: dict, seed: int, spread: float = 0.08,
               dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """LLM weights under the family's Hugging Face names, drawn at random (matrices with
    standard deviation ``spread``) and stored as ``dtype``. Below float32 the model is only laid
    out (meta device), so that just the returned tensors take memory: a 4B layout fits in 8 GB
    at float16. At float32 it is built as it always was, which keeps the draws the tests'
    tolerances were set on (the model's own initialisation takes from the same generator)."""
    import transformers

    cls_name, cfg_name = {"phi3": ("Phi3ForCausalLM", "Phi3Config"),
                          "llama": ("LlamaForCausalLM", "LlamaConfig"),
                          "qwen2": ("Qwen2ForCausalLM", "Qwen2Config")}[family]
    torch.manual_seed(seed)
    with torch.device("meta" if dtype != torch.float32 else "cpu"):
        model = getattr(transformers, cls_name)(getattr(transformers, cfg_name)(**llm_config))
    state = {}
    for name, tensor in model.state_dict().items():
        t = torch.empty(tensor.shape, dtype=dtype)
        if name.endswith("norm.weight"):
            t.uniform_(0.7, 1.3)
        elif name.endswith(".bias"):
            t.normal_(0, 0.05)
        else:
            t.normal_(0, spread)
        state[name] = t
    return state


def _llm_part(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in IMAGE_KEYS + ("architectures", "auto_map", "model_type")}


def _save_shards(folder: Path, groups: list[dict]) -> None:
    from safetensors.torch import save_file

    weight_map, total = {}, 0
    for i, group in enumerate(groups, 1):
        name = f"model-{i:05d}-of-{len(groups):05d}.safetensors"
        save_file({k: v.contiguous() for k, v in group.items()}, str(folder / name), metadata={"format": "pt"})
        for key, t in group.items():
            weight_map[key] = name
            total += t.numel() * t.element_size()
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def m3d_lamed(folder: Path, sp_model: Path, family: str = "phi3", hidden: int = 256,
              intermediate: int = 512, heads: int = 4, layers: int = 2, add_bos: bool = True,
              legacy: bool = False, seed: int = 0, rows: int | None = None, spread: float = 0.08,
              vision: dict | None = None, config_extra: dict | None = None,
              dtype: torch.dtype = torch.float32) -> Checkpoint:
    """M3D-LaMed-Phi-3-4B (``family="phi3"``) or -Llama-2-7B (``"llama"``), reduced.

    ``rows`` widens the embedding beyond the tokenizer (the extra rows are padding), for a
    full-size vocabulary with the small tokenizer. ``vision`` replaces the placeholder vision
    and projector tensors with real ones (published key names), ``config_extra`` the config
    keys that describe them (``image_size``, ``mm_hidden_size``, ...). ``dtype`` is the LLM
    weights' storage type (float16 for a published-size layout that fits in memory).
    """
    folder.mkdir(parents=True)
    added = [(t, True) for t in (PHI3_ADDED if family == "phi3" else [])]
    added += [(t, True) for t in LAMED_SPECIAL] + [(t, False) for t in LAMED_PLAIN]
    eos = "<|endoftext|>" if family == "phi3" else "</s>"
    ids = write_spm_tokenizer(folder, sp_model, added, eos, add_bos, legacy, pad="<|endoftext|>" if family == "phi3" else None)
    rows = rows or max(ids.values()) + 1  # LaMed resizes the embedding to len(tokenizer)
    eos_id = ids.get("<|endoftext|>", 2)
    config = {
        "architectures": ["LamedPhi3ForCausalLM" if family == "phi3" else "LamedLlamaForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_m3d_lamed.LamedConfig",
                     "AutoModelForCausalLM": f"modeling_m3d_lamed.Lamed{'Phi3' if family == 'phi3' else 'Llama'}ForCausalLM"},
        "model_type": "lamed_phi3" if family == "phi3" else "lamed_llama",
        "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": eos_id,
        "hidden_act": "silu", "hidden_size": hidden, "initializer_range": 0.02,
        "intermediate_size": intermediate, "max_position_embeddings": 4096,
        "num_attention_heads": heads, "num_hidden_layers": layers, "num_key_value_heads": heads,
        "rms_norm_eps": 1e-05, "rope_scaling": None, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "torch_dtype": str(dtype).removeprefix("torch."), "transformers_version": "4.41.2",
        "use_cache": True, "vocab_size": rows,
        "image_channel": 1, "image_size": [32, 256, 256], "patch_size": [4, 16, 16],
        "vision_tower": "vit3d", "vision_select_layer": -1, "vision_select_feature": "patch",
        "mm_projector_type": "spp", "proj_layer_type": "mlp", "proj_layer_num": 2,
        "proj_pooling_type": "spatial", "proj_pooling_size": 2, "mm_hidden_size": 768,
        "segmentation_module": "segvol", "seg_token_id": ids["[SEG]"],
    }
    if family == "phi3":  # Phi-3-mini-4k's own keys (original_max_position_embeddings left out)
        config.update({"embd_pdrop": 0.0, "resid_pdrop": 0.0, "pad_token_id": eos_id, "sliding_window": 2047})
    else:
        config.update({"pretraining_tp": 1})
    config.update(config_extra or {})
    _write_json(folder / "config.json", config)
    _write_json(folder / "generation_config.json", {"bos_token_id": 1, "eos_token_id": eos_id})
    for name in ("configuration_m3d_lamed.py", "modeling_m3d_lamed.py"):
        (folder / name).write_text("raise RuntimeError('remote code must never run')\n")
    llm = _llm_part(config)
    state = random_llm(family, llm, seed, spread, dtype)
    vision = vision or {
        "model.vision_tower.vision_tower.patch_embedding.patch_embeddings.1.weight": torch.randn(768, 1024),
        "model.vision_tower.vision_tower.patch_embedding.position_embeddings": torch.randn(1, 2048, 768),
        "model.vision_tower.vision_tower.cls_token": torch.randn(1, 1, 768),
        "model.vision_tower.vision_tower.blocks.0.attn.qkv.weight": torch.randn(2304, 768),
        "model.mm_projector.projector.0.weight": torch.randn(hidden, 768),
        "model.mm_projector.projector.2.weight": torch.randn(hidden, hidden),
    }
    seg = {"model.seg_module.image_encoder.patch_embedding.weight": torch.randn(96, 4),
           "model.seg_module.mask_decoder.iou_token.weight": torch.randn(1, 96),
           "model.seg_projector.0.weight": torch.randn(hidden, hidden)}
    names = list(state)
    third = len(names) // 3  # shards 1 and 3 mix LLM and other tensors, shard 2 is LLM-only
    _save_shards(folder, [{**{k: state[k] for k in names[:third]}, **vision},
                          {k: state[k] for k in names[third:2 * third]},
                          {**{k: state[k] for k in names[2 * third:]}, **seg}])
    if family == "phi3":  # the later model.bin duplicate: zeros, so reading it would show
        torch.save({k: torch.zeros_like(v) for k, v in state.items()}, folder / "model.bin")
    return Checkpoint(folder, family, llm, state, ids)


def med2e3(folder: Path, sp_model: Path, hidden: int = 256, intermediate: int = 512, heads: int = 4,
           layers: int = 2, seed: int = 1, parts: dict | None = None,
           part_configs: dict | None = None) -> Checkpoint:
    """Med-2E3-M3D: Phi-3-mini-128k (longrope) in ``llm/`` as a bf16 pickle, reduced.

    ``parts`` replaces the placeholder vision parts (part folder -> state dict, the published
    key names), ``part_configs`` writes their ``config.json`` (part folder -> dict)."""
    folder.mkdir(parents=True)
    ids = write_spm_tokenizer(folder, sp_model, [(t, True) for t in PHI3_ADDED], "<|endoftext|>",
                              add_bos=False, legacy=False, pad="<|endoftext|>")
    rows = (max(ids.values()) + 1 + 63) // 64 * 64  # Phi-3 pads 32011 tokens to 32064 rows
    eos_id = ids["<|endoftext|>"]
    half_dim = hidden // heads // 2
    llm_config = {
        "_name_or_path": "microsoft/Phi-3-mini-128k-instruct", "architectures": ["Phi3ForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_phi3.Phi3Config", "AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM"},
        "model_type": "phi3", "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 1,
        "embd_pdrop": 0.0, "eos_token_id": eos_id, "hidden_act": "silu", "hidden_size": hidden,
        "initializer_range": 0.02, "intermediate_size": intermediate, "max_position_embeddings": 131072,
        "num_attention_heads": heads, "num_hidden_layers": layers, "num_key_value_heads": heads,
        "original_max_position_embeddings": 4096, "pad_token_id": eos_id, "resid_pdrop": 0.0,
        "rms_norm_eps": 1e-05,
        "rope_scaling": {"type": "longrope",
                         "long_factor": [1.0 + 0.5 * i for i in range(half_dim)],
                         "short_factor": [1.0 + 0.02 * i for i in range(half_dim)]},
        "rope_theta": 10000.0, "sliding_window": 262144, "tie_word_embeddings": False,
        "torch_dtype": "bfloat16", "transformers_version": "4.44.2", "use_cache": True, "vocab_size": rows,
    }
    _write_json(folder / "llm" / "config.json", llm_config)
    llm = _llm_part(llm_config)
    state = {k: v.bfloat16() for k, v in random_llm("phi3", llm, seed).items()}
    torch.save(state, folder / "llm" / "pytorch_model.bin")
    _write_json(folder / "config.json", {"architectures": ["MedMLLMForConditionalGeneration"], "llm_type": "phi3",
                                         "tokenizer_name_or_path": "microsoft/Phi-3-mini-128k-instruct"})
    _write_json(folder / "args" / "config.json", {"llm_config": {"_name_or_path": "microsoft/Phi-3-mini-128k-instruct"}})
    _write_json(folder / "trainer_state.json", {"global_step": 1})
    parts = parts or {"vision2d_model": {"vision_model.embeddings.patch_embedding.weight": torch.randn(8, 3, 16, 16)},
             "vision2d_connector": {"_connector.0.weight": torch.randn(hidden, 1024)},
             "vision3d_model": {"vision_encoder.patch_embedding.patch_embeddings.1.weight": torch.randn(768, 1024),
                                "language_encoder.embeddings.word_embeddings.weight": torch.randn(8, 768)},
             "vision3d_connector": {"_connector.0.weight": torch.randn(hidden, 768), "text_mlp.weight": torch.randn(hidden, 768)}}
    for name, tensors in parts.items():
        (folder / name).mkdir()
        torch.save(tensors, folder / name / "pytorch_model.bin")
    for name, part_config in (part_configs or {}).items():
        _write_json(folder / name / "config.json", part_config)
    return Checkpoint(folder, "phi3", llm, state, ids)


def med3dvlm(folder: Path, hidden: int = 64, intermediate: int = 128, heads: int = 4, kv_heads: int = 2,
             layers: int = 2, seed: int = 2, vision: dict | None = None,
             config_extra: dict | None = None) -> Checkpoint:
    """Med3DVLM-Qwen-2.5-7B: Qwen2 with the real 151,666-row vocabulary, reduced width
    (``vision`` and ``config_extra`` as in :func:`m3d_lamed`)."""
    folder.mkdir(parents=True)
    ids = write_qwen2_tokenizer(folder, ["<im_patch>"])
    rows = max(ids.values()) + 1
    config = {
        "architectures": ["VLMQwenForCausalLM"], "model_type": "vlm_qwen",
        "auto_map": {"AutoConfig": "configuration_vlm.VLMQwenConfig", "AutoModelForCausalLM": "modeling_vlm.VLMQwenForCausalLM"},
        "attention_dropout": 0.0, "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
        "hidden_act": "silu", "hidden_size": hidden, "initializer_range": 0.02,
        "intermediate_size": intermediate, "max_position_embeddings": 32768, "max_window_layers": 28,
        "num_attention_heads": heads, "num_hidden_layers": layers, "num_key_value_heads": kv_heads,
        "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 131072,
        "tie_word_embeddings": False, "torch_dtype": "float32", "transformers_version": "4.48.1",
        "use_cache": True, "use_sliding_window": False, "vocab_size": rows,
        "img_token_id": ids["<im_patch>"], "input_size": [256, 256, 128], "patch_size": [16, 16, 16],
        "dim": 768, "depth": 12, "vision_tower": "dcformer", "vision_select_layer": -2,
        "vision_select_feature": "cls_patch", "mm_projector_type": "mixer", "mm_mlp_depth": 2,
        "proj_out_num": 256, "low_output_size": [192, 128], "high_output_size": [64, 128],
        "low_input_size": [256, 384], "high_input_size": [32, 768], "mm_hidden_size": 768,
    }
    config.update(config_extra or {})
    _write_json(folder / "config.json", config)
    _write_json(folder / "generation_config.json", {"bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"]})
    llm = _llm_part(config)
    state = random_llm("qwen2", llm, seed)
    vision = vision or {"model.vision_tower.vision_tower.encoder.s0.0.0.c1.0.weight": torch.randn(48, 1, 7, 1, 1),
              "model.vision_tower.vision_tower.encoder.s0.0.0.c1.1.running_mean": torch.randn(48),
              "model.mm_projector.low_mixer.0.ln1.weight": torch.randn(384),
              "model.mm_projector.high_mixer.1.mlp2.mm_projector.0.weight": torch.randn(hidden, 768)}
    names = list(state)
    _save_shards(folder, [{**{k: state[k] for k in names[:3]}, **vision}, {k: state[k] for k in names[3:]}])
    torch.save({k.removeprefix("model.vision_tower."): v for k, v in vision.items() if "vision_tower" in k},
               folder / "vision_tower.bin")
    return Checkpoint(folder, "qwen2", llm, state, ids)
