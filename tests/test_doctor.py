"""``ctchat doctor``: the checks load real things and read back what runs, and each problem
comes with a hint."""

from __future__ import annotations

import json
import shutil

import pytest

from inference.cli import main
from inference.doctor import FAIL, OK, WARN
from inference.doctor import engines, sections
from inference.doctor.system import bundle_check
from inference.resources import resource_path


def test_doctor_json_on_this_cpu_machine(capsys) -> None:
    assert main(["doctor", "--json", "--no-viewer"]) == 0
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["bundle"]["status"] == OK and "ctchat-default" in checks["bundle"]["detail"]
    assert checks["onnxruntime cpu"]["detail"].endswith("runs on CPUExecutionProvider")
    assert checks["llm layers"]["detail"] == "0/19 layers on the GPU (all on the CPU)"
    assert "AVX2" in checks["llama.cpp"]["detail"]
    assert {"python", "memory", "gpu", "data folder", "onnxruntime package"} <= set(checks)
    assert all(c["hint"] for c in checks.values() if c["status"] != OK)


def test_a_damaged_bundle_fails_its_hash_check_with_a_hint(tmp_path) -> None:
    copy = shutil.copytree(resource_path("bundles", "default"), tmp_path / "bundle")
    with open(copy / "scan.onnx", "r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00\x01\x02\x03")
    check = bundle_check(str(copy))
    assert check.status == FAIL and "SHA-256" in check.detail and "reinstall" in check.hint


def test_both_onnxruntime_packages_installed_is_a_failure(monkeypatch) -> None:
    monkeypatch.setattr(engines, "installed", lambda p: "1.32.0")
    check = engines.ort_package_check()
    assert check.status == FAIL and "pip uninstall" in check.hint


def test_cuda_offered_but_not_loading_is_reported_not_assumed(monkeypatch) -> None:
    """The provider fallback: an onnxruntime that claims CUDA but gives a CPU session fails the
    CUDA check with the install hint; the CPU check still passes."""
    from inference.ort import onnxruntime as ort

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    checks = {c.name: c for c in engines.provider_checks(resource_path("bundles", "default", "scan.onnx"), [])}
    assert checks["onnxruntime cuda"].status == FAIL and "--gpu" in checks["onnxruntime cuda"].hint
    assert checks["onnxruntime cpu"].status == OK


def test_a_gpu_without_cuda_builds_gives_the_gpu_install_hint() -> None:
    gpus = ["NVIDIA H200, 580.65, 143771 MiB"]
    checks = {c.name: c for c in engines.provider_checks(resource_path("bundles", "default", "scan.onnx"), gpus)}
    assert checks["onnxruntime cuda"].status == WARN and "install.sh --gpu" in checks["onnxruntime cuda"].hint
    llama = engines.llama_checks(gpus)[0]
    assert llama.status == WARN and "--gpu" in llama.hint


def test_llama_build_flags_are_parsed() -> None:
    flags = engines.llama_flags("CPU : SSE3 = 1 | AVX = 1 | AVX2 = 0 | CUDA : ARCHS = 900 | ")
    assert flags["AVX"] and not flags["AVX2"] and flags["CUDA"]


def test_a_section_that_crashes_is_one_failed_check() -> None:
    (check,) = sections.run_section("no-such-section")
    assert check.status == FAIL and "stopped" in check.detail and check.hint
    assert "libxcb-cursor0" in sections.crash_hint("qt.qpa.plugin: Could not load the Qt platform plugin \"xcb\"")


@pytest.mark.parametrize("report, status", [
    ("OpenGL vendor string: NVIDIA\nOpenGL renderer string: NVIDIA H200/PCIe\nOpenGL version string: 4.6.0 NVIDIA 580", OK),
    ("OpenGL renderer string: llvmpipe (LLVM 15)\nOpenGL version string: 4.5 (Core Profile) Mesa", WARN),
    ("OpenGL renderer string: old\nOpenGL version string: 2.1 Mesa", FAIL),
    ("", FAIL),
])
def test_the_viewers_opengl_check(report, status) -> None:
    from viewer.doctor_section import opengl_check

    check = opengl_check(report)
    assert check["status"] == status and (status == OK or check["hint"])
