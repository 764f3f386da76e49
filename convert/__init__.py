"""Published 3D medical VLM checkpoints (M3D-LaMed, Med-2E3, Med3DVLM) -> ctchat bundles.

Depends on :mod:`inference` (and may use training's export helpers); nothing in
:mod:`inference` imports this package. :mod:`convert.towers` holds the vision side: torch
modules whose parameter names load the published state dicts as they are, and their ONNX export.
"""
