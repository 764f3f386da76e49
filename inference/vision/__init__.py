"""The vision side at run time: a bundle's ONNX graphs in ONNX Runtime (CUDA when it really
runs, else the CPU). The torch models these graphs are exported from live in
:mod:`training.models`; the runtime never imports them.

Example:
    >>> from inference.vision.runtime import VisionRuntime
    >>> rt = VisionRuntime("bundle/scan.onnx", "bundle/question.onnx")   # doctest: +SKIP
    >>> rt.providers                                                       # doctest: +SKIP
    ['CPUExecutionProvider']
"""
