"""The model's eyes: 3D and 2D encoders, perceivers, TG-IS slice scoring, ONNX export and runtime.

Light to import: torch, onnx and onnxruntime are imported only inside the modules that need
them (``vit3d``, ``export``, ``runtime`` ...), never here.

Example:
    >>> from inference.vision import get_config
    >>> cfg = get_config("tiny")
    >>> cfg.vit3d.input_shape, cfg.n_tokens_3d, cfg.n_tokens_2d
    ((32, 64, 64), 64, 16)
"""

from .config import (
    PERCEIVER_KINDS,
    PRESETS,
    TGIS_MODES,
    PerceiverConfig,
    SliceEncoderConfig,
    TGISConfig,
    ViT3DConfig,
    VisionConfig,
    get_config,
)

__all__ = [
    "PERCEIVER_KINDS",
    "PRESETS",
    "TGIS_MODES",
    "PerceiverConfig",
    "SliceEncoderConfig",
    "TGISConfig",
    "ViT3DConfig",
    "VisionConfig",
    "get_config",
]
