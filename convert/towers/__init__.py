"""Vision towers of the published 3D medical VLMs as torch modules, and their ONNX graphs.

Every module names its parameters as the published checkpoint does, so
``load_published(module, state_dict, prefix)`` loads the sub-dict under ``prefix`` with
``strict=True``. Entry points (each ``build_*`` returns a module in eval mode):

* M3D-LaMed: :func:`build_lamed_vision` (``config.json`` dict) -> :class:`LamedVision`,
  ``.load_published(safetensors state dict)``, :func:`export_lamed`.
* Med-2E3: :func:`build_med2e3_vision` (M3D-CLIP and SigLIP config dicts, a BertConfig from
  :func:`bert_config_from_weights`, the LLM width) -> :class:`Med2E3Vision`,
  ``.load_published({"vision3d_model": sd, ...})``, :func:`export_med2e3`.
* Med3DVLM: :func:`build_med3dvlm_vision` (``config.json`` dict) -> :class:`Med3DVLMVision`,
  ``.load_published(safetensors state dict)``, :func:`export_med3dvlm`.
* Parts: :func:`build_m3d_vit`, :class:`DCFormer`, :class:`MixerProjector`, :class:`SliceEncoder`.

The facts these follow, with file and line references, are in docs/published-models-facts.md.
"""

from .bert_text import bert_config_from_weights
from .dcformer import DCFormer, DCFormerConfig
from .graphs import export_lamed, export_med2e3, export_med3dvlm
from .lamed import LamedVision, build_lamed_vision
from .m3d_vit import M3DViT, M3DViTConfig, build_m3d_vit
from .med2e3 import Med2E3Vision, build_med2e3_vision
from .med3dvlm import Med3DVLMVision, build_med3dvlm_vision
from .mixer import MixerProjector
from .onnx_export import ExportedGraph, export_graph, max_rel_diff, run_onnx
from .siglip_slices import SliceEncoder
from .state_dict import CheckpointError, load_published

__all__ = [
    "CheckpointError", "DCFormer", "DCFormerConfig", "ExportedGraph", "LamedVision", "M3DViT",
    "M3DViTConfig", "Med2E3Vision", "Med3DVLMVision", "MixerProjector", "SliceEncoder",
    "bert_config_from_weights", "build_lamed_vision", "build_m3d_vit", "build_med2e3_vision",
    "build_med3dvlm_vision", "export_graph", "export_lamed", "export_med2e3", "export_med3dvlm",
    "load_published", "max_rel_diff", "run_onnx",
]
