"""Doctor checks of the two inference engines, by loading something real and reading back what
runs: ONNX Runtime's providers on the default bundle's scan graph, llama.cpp's build flags and
where the default LLM's layers go."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .check import FAIL, OK, WARN, Check

ORT_PACKAGES = ("onnxruntime", "onnxruntime-gpu")
GPU_INSTALL = "bash scripts/install.sh --gpu (or pip install 'ctchat[gpu]' after pip uninstall onnxruntime)"


def installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def ort_package_check() -> Check:
    """Exactly one ONNX Runtime package: both installed overwrite each other's files."""
    present = {p: v for p in ORT_PACKAGES if (v := installed(p))}
    if len(present) > 1:
        return Check("onnxruntime package", FAIL, f"both installed: {present}",
                     "pip uninstall -y onnxruntime onnxruntime-gpu, then bash scripts/install.sh (add --gpu for CUDA)")
    if not present:
        return Check("onnxruntime package", FAIL, "not installed", "pip install 'ctchat[cpu]' (or 'ctchat[gpu]' for CUDA)")
    ((name, ver),) = present.items()
    return Check("onnxruntime package", OK, f"{name} {ver}")


def provider_checks(graph: Path | None, gpus: list[str]) -> list[Check]:
    """For CUDA and the CPU: does a session on ``graph`` really get the provider?"""
    from ..vision.runtime import CPU, CUDA, create_session

    try:
        from ..ort import onnxruntime as ort
    except ImportError:
        return [Check("onnxruntime", FAIL, "cannot be imported", "pip install 'ctchat[cpu]' (or 'ctchat[gpu]')")]
    ort.set_default_logger_severity(4)  # a CUDA library that fails to load is reported below, not logged
    offered = ort.get_available_providers()
    if graph is None or not graph.is_file():
        return [Check("onnxruntime", WARN, f"{ort.__version__}, offers {offered}; no graph to load",
                      "the default bundle is missing: see the bundle check")]
    checks = [_provider_check("cpu", CPU, graph, create_session)]
    if CUDA in offered:
        checks.insert(0, _provider_check("cuda", CUDA, graph, create_session))
    elif gpus:
        checks.insert(0, Check("onnxruntime cuda", WARN, "an NVIDIA GPU is here but this onnxruntime has no CUDA "
                               "provider: the vision graphs run on the CPU", GPU_INSTALL))
    else:
        checks.insert(0, Check("onnxruntime cuda", OK, "not offered (no GPU): the vision graphs run on the CPU"))
    return checks


def _provider_check(device: str, provider: str, graph: Path, create_session) -> Check:
    name = f"onnxruntime {device}"
    try:
        got = create_session(graph, device=device, threads=1).get_providers()
    except Exception as exc:  # noqa: BLE001 - ORT raises bare RuntimeError/Fail types for load failures
        return Check(name, FAIL, f"a session on {graph.name} failed: {str(exc).splitlines()[0][:200]}",
                     _provider_hint(device))
    if got[0] != provider:
        return Check(name, FAIL, f"{provider} is offered but a session on {graph.name} got {got}",
                     _provider_hint(device))
    return Check(name, OK, f"a session on {graph.name} runs on {got[0]}")


def _provider_hint(device: str) -> str:
    if device == "cuda":
        return ("the CUDA or cuDNN libraries onnxruntime-gpu needs did not load: " + GPU_INSTALL
                + " installs them from PyPI; check the driver with nvidia-smi")
    return "reinstall onnxruntime: pip install --force-reinstall onnxruntime"


def llama_flags(system_info: str) -> dict[str, bool]:
    """llama.cpp's build flags from ``llama_print_system_info()``, e.g. ``{"AVX2": True, "CUDA": False}``."""
    flags = {k: v == "1" for k, v in re.findall(r"(\w+) = (\d)", system_info)}
    flags.setdefault("CUDA", "CUDA" in system_info)
    return flags


def llama_checks(gpus: list[str]) -> list[Check]:
    """The llama.cpp build, and where the default LLM's layers really go when it loads."""
    from ..llm.errors import LLMError
    from ..llm.library import llama_library

    try:
        ll = llama_library()
    except LLMError as exc:
        return [Check("llama.cpp", FAIL, str(exc), "bash scripts/install.sh builds it")]
    flags = llama_flags(ll.llama_print_system_info().decode("utf-8", "replace"))
    offload = bool(ll.llama_supports_gpu_offload())
    shown = ", ".join(k for k in ("CUDA", "AVX", "AVX2", "AVX512", "FMA", "F16C") if flags.get(k)) or "none"
    detail = f"llama-cpp-python {installed('llama-cpp-python')}: {shown}; GPU offload {'yes' if offload else 'no'}"
    if gpus and not offload:
        build = Check("llama.cpp", WARN, detail, "an NVIDIA GPU is here but llama.cpp was built for the CPU: "
                      "bash scripts/install.sh --gpu rebuilds it with CUDA")
    elif not flags.get("AVX2"):
        build = Check("llama.cpp", WARN, detail, "built without AVX2: the LLM will be slow on this CPU")
    else:
        build = Check("llama.cpp", OK, detail)
    return [build, _llm_offload_check()]


def _llm_offload_check() -> Check:
    from ..llm.errors import LLMError
    from ..llm.model_files import default_gguf_path
    from ..llm.runtime import LlamaRuntime

    try:
        llm = LlamaRuntime(default_gguf_path(), n_ctx=64, n_batch=64)
    except LLMError as exc:
        return Check("llm layers", FAIL, str(exc), "pip install 'ctchat[llm]'")
    offload = llm.offload
    llm.close()
    wanted = offload.requested != 0
    if wanted and offload.on_gpu == 0 and offload.layer_devices:
        return Check("llm layers", WARN, f"{offload.describe()} although offload was asked for",
                     "llama.cpp found no usable GPU: check nvidia-smi and the CUDA build")
    return Check("llm layers", OK, offload.describe())
