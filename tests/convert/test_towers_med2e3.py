"""Med-2E3's vision side against references: MONAI's ViT, transformers' SiglipVisionModel and
BertModel called through their own APIs, and the connectors and TG-IS written the way
``SpatialPoolingScore15Connector`` / ``modeling_medmllm.py`` (exp_id 4) compute them.

Reduced sizes, published structure: 32 slices, a patch grid of depth 8 pooled to 4 slabs of
8 slices, SigLIP patch 16, two-layer GELU connectors.
"""

from __future__ import annotations

import pytest
import torch
from einops import rearrange
from torch.nn import functional as F
from towers_refs import ONNX_TOL, monai_vit, onnx_round_trip, randomize, rel, shapes, with_prefix

from convert.towers.bert_text import bert_config_from_weights
from convert.towers.graphs import example_inputs_med2e3, export_med2e3
from convert.towers.m3d_vit import M3DViTConfig
from convert.towers.med2e3 import (
    QUESTION_INPUTS,
    QUESTION_OUTPUTS,
    SCAN_INPUTS,
    SCAN_OUTPUTS,
    build_med2e3_vision,
)
from convert.towers.onnx_export import max_rel_diff, run_onnx
from convert.towers.siglip_slices import SliceEncoder, build_siglip
from convert.towers.state_dict import CheckpointError

VIT = M3DViTConfig(img_size=(32, 64, 64), patch_size=(4, 16, 16), hidden_size=64, mlp_dim=128,
                   num_layers=2, num_heads=4)
SIGLIP = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
          "image_size": 64, "patch_size": 16, "num_channels": 3, "layer_norm_eps": 1e-6,
          "hidden_act": "gelu_pytorch_tanh", "model_type": "siglip_vision_model"}
LLM = 48
Q_LEN = 40
TOL = 1e-5


def small_bert_config():
    from transformers import BertConfig

    return BertConfig(vocab_size=120, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=96, max_position_embeddings=64, type_vocab_size=2)


def small_vision(seed: int = 6):
    return randomize(build_med2e3_vision({}, SIGLIP, small_bert_config(), LLM, vit_cfg=VIT), seed=seed)


def published_files(v) -> dict[str, dict[str, torch.Tensor]]:
    """The four files as Med-2E3 saves them (named_parameters; SigLIP with transformers 4.4x's
    ``vision_model.`` names)."""
    params = lambda m: {k: p.detach().clone() for k, p in m.named_parameters()}  # noqa: E731
    return {"vision3d_model": {**with_prefix(params(v.vision3d), "vision_encoder."),
                               **with_prefix(params(v.bert), "language_encoder."),
                               "mm_vision_proj.weight": torch.zeros(2, 2), "logit_scale": torch.zeros(())},
            "vision3d_connector": params(v.connector3d),
            "vision2d_model": with_prefix(params(v.vision2d.siglip), "vision_model."),
            "vision2d_connector": params(v.connector2d)}


def ref_mlp(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    h = F.gelu(F.linear(x, sd["_connector.0.weight"], sd["_connector.0.bias"]))
    return F.linear(h, sd["_connector.2.weight"], sd["_connector.2.bias"])


def reference(v, volume, ids, mask):
    """Med-2E3 exp_id 4, step by step with the libraries' own models and its connector code."""
    vit = monai_vit(VIT)
    vit.load_state_dict(v.vision3d.state_dict(), strict=False)
    siglip = v.vision2d.siglip
    c3 = {k: t for k, t in v.connector3d.state_dict().items()}
    c2 = v.connector2d.state_dict()
    b, _, n, h, w = volume.shape
    # 2D: slices as 3-channel images, SigLIP hidden_states[-1], 2D connector
    slices = volume.transpose(1, 2).contiguous().view(b * n, 1, h, w).expand(b * n, 3, h, w)
    v2d = siglip(pixel_values=slices, output_hidden_states=True).hidden_states[-1]
    v2d = ref_mlp(c2, v2d).view(b, n, v2d.shape[1], c2["_connector.2.weight"].shape[0])  # LLM width
    # 3D: hidden_states[-1] without cls, spatial pooling, 3D connector
    v3d = vit(volume)[1][-1][:, 1:]
    g = VIT.grid
    x = rearrange(v3d, "b (p1 p2 p3) d -> b d p1 p2 p3", p1=g[0], p2=g[1], p3=g[2])
    x = rearrange(F.avg_pool3d(x, 2, 2), "b d p1 p2 p3 -> b (p1 p2 p3) d")
    x = ref_mlp(c3, x)
    # TG-IS (SpatialPoolingScore15Connector.forward)
    bsz, length, d = x.shape
    scores = x.reshape(bsz, 4, length // 4, d).repeat_interleave(8, dim=1)
    scores = torch.cat([scores, v2d], dim=2).mean(dim=2)
    text = v.bert(ids, mask).pooler_output
    text = F.linear(text, c3["text_mlp.weight"], c3["text_mlp.bias"])
    scores = F.softmax(torch.bmm(scores, text.unsqueeze(-1)) / 5, dim=1)
    tokens = torch.cat([x, (v2d * scores.unsqueeze(-1)).sum(dim=1)], dim=1)
    return x, v2d, scores.squeeze(-1), tokens


def test_scan_and_question_match_the_reference():
    v = small_vision()
    ex = example_inputs_med2e3(v, length=Q_LEN)
    with torch.no_grad():
        ref3, ref2, ref_scores, ref_tokens = reference(v, ex["volume"], ex["question_ids"],
                                                       ex["question_mask"])
        t3, t2, feats = v.scan_graph()(ex["volume"])
        scores, tokens = v.question_graph()(ex["question_ids"], ex["question_mask"], t3, t2, feats)
    assert t3.shape == (1, 16, LLM) and t2.shape == (1, 32, 16, LLM) and feats.shape == (1, 32, LLM)
    assert rel(t3, ref3) < TOL and rel(t2, ref2) < TOL
    assert rel(scores, ref_scores) < TOL and rel(tokens, ref_tokens) < TOL
    assert tokens.shape == (1, 32, LLM) and abs(float(scores.sum()) - 1) < 1e-5
    assert float(scores.max() / scores.min()) > 1.5  # the scores are not uniform: they were tested


def test_slice_encoder_is_siglip_hidden_states_last_per_slice():
    siglip = randomize(build_siglip(SIGLIP), seed=7)
    enc = SliceEncoder(siglip)
    vol = torch.rand(2, 1, 3, 64, 64)
    with torch.no_grad():
        got = enc(vol)
        for bi in range(2):
            for s in range(3):
                img = vol[bi:bi + 1, :, s].expand(1, 3, 64, 64)
                out = siglip(pixel_values=img, output_hidden_states=True)
                assert rel(got[bi, s], out.hidden_states[-1][0]) < TOL
                assert rel(got[bi, s], out.last_hidden_state[0]) > 1e-2  # before post_layernorm


def test_question_vector_is_bert_pooler_then_text_mlp_and_ignores_padding():
    v = small_vision()
    text = v.question_graph().text
    ids = torch.randint(1, 120, (1, 9))
    with torch.no_grad():
        pooled = v.bert(input_ids=ids, attention_mask=torch.ones_like(ids)).pooler_output
        direct = v.connector3d.text_mlp(pooled)
        pad = torch.cat([ids, torch.zeros(1, 31, dtype=torch.long)], dim=1)
        mask = (pad != 0).long()
        assert rel(text(ids, torch.ones_like(ids)), direct) < TOL
        assert rel(text(pad, mask), direct) < 1e-5  # Med-2E3 pads to 512 with a mask


def test_published_files_load_and_siglip_prefix_is_handled():
    src = small_vision(seed=8)
    files = published_files(src)
    bert_cfg = bert_config_from_weights(files["vision3d_model"])
    fresh = build_med2e3_vision({}, SIGLIP, bert_cfg, LLM, vit_cfg=VIT)
    assert fresh.load_published(files) == []
    ex = example_inputs_med2e3(src, length=Q_LEN)
    with torch.no_grad():
        for a, b in zip(src.scan_graph()(ex["volume"]), fresh.scan_graph()(ex["volume"])):
            assert rel(a, b) == 0.0
    with pytest.raises(CheckpointError, match="lacks vision2d_connector"):
        fresh.load_published({k: f for k, f in files.items() if k != "vision2d_connector"})


def test_bert_config_is_read_from_the_weights():
    from transformers import BertConfig, BertModel

    with torch.device("meta"):
        base = BertModel(BertConfig())  # bert-base-uncased sizes, as M3D-CLIP's language encoder
    sd = with_prefix(base.state_dict(), "language_encoder.")
    cfg = bert_config_from_weights(sd)
    assert (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads,
            cfg.intermediate_size, cfg.max_position_embeddings) == (30522, 768, 12, 12, 3072, 512)


def test_published_connector_layout():
    from transformers import BertConfig

    with torch.device("meta"):
        v = build_med2e3_vision({"img_size": [32, 256, 256], "patch_size": [4, 16, 16]},
                                {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
                                 "num_attention_heads": 16, "image_size": 256, "patch_size": 16},
                                BertConfig(), 3072)
    assert shapes(v.connector3d.state_dict()) == {
        "_connector.0.weight": (3072, 768), "_connector.0.bias": (3072,),
        "_connector.2.weight": (3072, 3072), "_connector.2.bias": (3072,),
        "text_mlp.weight": (3072, 768), "text_mlp.bias": (3072,)}
    assert shapes(v.connector2d.state_dict()) == {
        "_connector.0.weight": (3072, 1024), "_connector.0.bias": (3072,),
        "_connector.2.weight": (3072, 3072), "_connector.2.bias": (3072,)}
    assert v.connector3d.pooled_grid == (4, 8, 8) and v.n_slabs == 4
    sig = shapes(v.vision2d.siglip.state_dict())
    assert sig["embeddings.patch_embedding.weight"] == (1024, 3, 16, 16)
    assert sig["embeddings.position_embedding.weight"] == (256, 1024)
    assert "encoder.layers.23.mlp.fc2.weight" in sig and "head.probe" in sig


def test_onnx_graphs_match_torch(tmp_path):
    v = small_vision()
    graphs = export_med2e3(v, tmp_path, length=Q_LEN)
    ex = example_inputs_med2e3(v, length=Q_LEN)
    with torch.no_grad():
        ref_scan = v.scan_graph()(ex["volume"])
        ref_q = v.question_graph()(*(ex[n] for n in QUESTION_INPUTS))
    got_scan = run_onnx(graphs["scan"].path, {n: ex[n].numpy() for n in SCAN_INPUTS})
    got_q = run_onnx(graphs["question"].path, {n: ex[n].numpy() for n in QUESTION_INPUTS})
    diffs = [max_rel_diff(g, r.numpy()) for g, r in zip(got_scan + got_q, ref_scan + ref_q)]
    assert len(diffs) == len(SCAN_OUTPUTS) + len(QUESTION_OUTPUTS)
    assert max(diffs) < ONNX_TOL, dict(zip(SCAN_OUTPUTS + QUESTION_OUTPUTS, diffs))


def test_full_size_question_graph_exports_and_matches_torch(tmp_path):
    """BERT-base on a 512-token question, text_mlp 768 -> 3072, 32 slices of 256 tokens."""
    from transformers import BertConfig

    from convert.towers.bert_text import QuestionVector, build_bert
    from convert.towers.graphs import question_example
    from convert.towers.med2e3 import QuestionGraph

    text = QuestionVector(build_bert(BertConfig()), torch.nn.Linear(768, 3072))
    graph = randomize(QuestionGraph(text), seed=22)
    g = torch.Generator().manual_seed(23)
    ids, mask = question_example(30522, 512, n_real=20)
    t3, t2 = torch.randn(1, 256, 3072, generator=g), torch.randn(1, 32, 256, 3072, generator=g) * 0.1
    feats = torch.randn(1, 32, 3072, generator=g) * 0.01
    args = (ids, mask, t3, t2, feats)
    diffs = onnx_round_trip(graph, args, tmp_path / "question.onnx", QUESTION_INPUTS, QUESTION_OUTPUTS)
    print(f"full-size Med-2E3 question graph: max rel diffs {diffs}")
    assert max(diffs) < ONNX_TOL
