"""GPU selection and read-back on this CPU machine: how many LLM layers are asked for, where
llama.cpp says they went, and which ONNX Runtime providers are requested and really run."""

from __future__ import annotations

import pytest

from inference.llm.errors import LLMError
from inference.llm.offload import ALL_LAYERS, LayerOffload, gpu_layers_setting, parse_layer_devices
from inference.vision import runtime as vision_runtime

CUDA_LOG = [f"load_tensors: layer {i:3d} assigned to device CUDA0, is_swa = 1" for i in range(16)] + [
    "load_tensors: layer  16 assigned to device CPU, is_swa = 0",
    "load_tensors: layer  17 assigned to device CPU, is_swa = 1",
    "load_tensors: offloaded 16/19 layers to GPU",
]


def test_layers_asked_for_follow_the_build_the_request_and_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("CTCHAT_GPU_LAYERS", raising=False)
    assert gpu_layers_setting(None, supports_offload=False) == 0
    assert gpu_layers_setting(None, supports_offload=True) == ALL_LAYERS
    assert gpu_layers_setting(7, supports_offload=True) == 7
    monkeypatch.setenv("CTCHAT_GPU_LAYERS", "3")
    assert gpu_layers_setting(None, supports_offload=True) == 3
    assert gpu_layers_setting(5, supports_offload=True) == 5  # an explicit request wins
    monkeypatch.setenv("CTCHAT_GPU_LAYERS", "many")
    with pytest.raises(LLMError, match="whole number"):
        gpu_layers_setting(None, supports_offload=True)
    with pytest.raises(LLMError, match="-1"):
        gpu_layers_setting(-2, supports_offload=True)


def test_offload_is_read_from_llama_cpps_load_log() -> None:
    offload = LayerOffload(18, ALL_LAYERS, parse_layer_devices(CUDA_LOG))
    assert offload.on_gpu == 16 and offload.gpu_devices == ["CUDA0"]
    assert offload.describe() == "16/18 layers on CUDA0"
    assert LayerOffload(18, 0, {}).describe().endswith("did not report their devices)")


@pytest.mark.parametrize("env", [None, "-1"])
def test_the_cpu_build_reports_every_layer_on_the_cpu(monkeypatch, env) -> None:
    from inference.llm.model_files import default_gguf_path
    from inference.llm.runtime import LlamaRuntime

    if env is None:
        monkeypatch.delenv("CTCHAT_GPU_LAYERS", raising=False)
    else:
        monkeypatch.setenv("CTCHAT_GPU_LAYERS", env)
    llm = LlamaRuntime(default_gguf_path(), n_ctx=64, n_batch=64)
    try:
        offload = llm.offload
        assert offload.n_layers == 18
        assert sorted(offload.layer_devices) == list(range(19))  # every layer read back, output layer too
        assert offload.on_gpu == 0 and offload.describe() == "0/19 layers on the GPU (all on the CPU)"
        assert offload.requested == (0 if env is None else ALL_LAYERS)
    finally:
        llm.close()


def test_providers_requested_on_a_cpu_onnxruntime() -> None:
    assert vision_runtime.requested_providers("auto") == [vision_runtime.CPU]
    assert vision_runtime.requested_providers("cpu") == [vision_runtime.CPU]
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        vision_runtime.requested_providers("cuda")


def test_cuda_offered_preloads_its_libraries_and_what_runs_is_read_back(monkeypatch) -> None:
    """An onnxruntime that offers CUDA whose libraries do not load: CUDA is asked for (after the
    library preload), the session falls back, and the read-back says CPU."""
    from inference.ort import onnxruntime as ort

    from inference.bundle import bundle_dir

    preloaded = []
    monkeypatch.setattr(ort, "get_available_providers", lambda: [vision_runtime.CUDA, vision_runtime.CPU])
    monkeypatch.setattr(ort, "preload_dlls", lambda: preloaded.append(True), raising=False)
    asked = vision_runtime.requested_providers("auto")
    assert asked[0][0] == vision_runtime.CUDA and asked[-1] == vision_runtime.CPU and preloaded
    session = vision_runtime.create_session(bundle_dir("default") / "scan.onnx", device="auto", threads=1)
    assert session.get_providers() == [vision_runtime.CPU]
