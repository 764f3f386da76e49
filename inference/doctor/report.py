"""All the doctor's checks in order, and the one screen that shows them."""

from __future__ import annotations

from .check import FAIL, WARN, Check
from .engines import llama_checks, ort_package_check, provider_checks
from .sections import section_checks
from .system import bundle_check, data_folder_check, gpu_check, memory_check, nvidia_gpus, python_check


def run_checks(with_sections: bool = True) -> list[Check]:
    """Every check; ``with_sections`` False leaves out the contributed (viewer) sections."""
    from ..bundle import bundle_dir, BundleError

    gpus = nvidia_gpus()
    try:
        graph = bundle_dir("default") / "scan.onnx"
    except BundleError:
        graph = None
    checks = [python_check(), memory_check(), gpu_check(gpus), data_folder_check(), bundle_check(),
              ort_package_check(), *provider_checks(graph, gpus), *llama_checks(gpus)]
    if with_sections:
        checks.extend(section_checks())
    return checks


def render(checks: list[Check]) -> str:
    """One line per check, its hint indented below it, then a summary line."""
    width = max(len(c.name) for c in checks)
    lines = ["ctchat doctor: what this machine will run", ""]
    for c in checks:
        lines.append(f"  {c.status:<4}  {c.name:<{width}}  {c.detail}")
        if c.hint:
            lines.append(f"        {'':<{width}}  hint: {c.hint}")
    problems = [c for c in checks if c.status in (WARN, FAIL)]
    lines += ["", summary(checks) if problems else "Everything needed works."]
    return "\n".join(lines)


def summary(checks: list[Check]) -> str:
    fails = sum(c.status == FAIL for c in checks)
    warns = sum(c.status == WARN for c in checks)
    return f"{fails} problem(s) that stop something from working, {warns} warning(s): see the hints above."
