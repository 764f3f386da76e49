"""The viewer's section of ``ctchat doctor`` (entry point ``ctchat.doctor``): Qt, VTK and the
OpenGL driver VTK gets. The runtime runs it in a child process, so a driver that aborts costs
one failed check, not the doctor."""

from __future__ import annotations

import os
import re

OPENGL_MIN = (3, 2)  # what VTK's OpenGL2 backend needs
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software")


def checks() -> list[dict[str, str]]:
    """Qt and VTK versions, and the OpenGL renderer of a small off-screen VTK window."""
    import PySide6
    import vtkmodules

    found = [_check("qt", "ok", f"PySide6 {PySide6.__version__}"), _check("vtk", "ok", f"VTK {vtkmodules.__version__}")]
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        found.append(_check("opengl", "warn", "no display (DISPLAY unset): the OpenGL driver was not tried",
                            "run ctchat doctor inside the desktop session, or under xvfb-run for a headless check"))
        return found
    found[0] = _check("qt", "ok", f"PySide6 {PySide6.__version__}, platform plugin {qt_platform()}")
    found.append(opengl_check(render_capabilities()))
    return found


def qt_platform() -> str:
    """The platform plugin Qt loads for this display (Qt aborts the process when it cannot)."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([])
    return app.platformName()


def render_capabilities() -> str:
    """VTK's report of the OpenGL context it gets for a 16 x 16 off-screen window."""
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - registers the OpenGL render window
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow

    window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetSize(16, 16)
    window.AddRenderer(vtkRenderer())
    window.Render()
    report = window.ReportCapabilities() or ""
    window.Finalize()
    return report


def opengl_check(report: str) -> dict[str, str]:
    """The renderer and version VTK reported: a hint for too old a version or software rendering."""
    renderer = _field(report, "OpenGL renderer string")
    version = _field(report, "OpenGL version string")
    if not version:
        return _check("opengl", "fail", "VTK got no OpenGL context",
                      "install an OpenGL driver (the GPU vendor's, or Mesa: libgl1 libegl1)")
    detail = f"{renderer or 'unknown renderer'}, OpenGL {version}"
    numbers = re.match(r"(\d+)\.(\d+)", version)
    if numbers and tuple(map(int, numbers.groups())) < OPENGL_MIN:
        return _check("opengl", "fail", detail, "VTK needs OpenGL 3.2 or newer: update the graphics driver")
    if any(s in renderer.lower() for s in SOFTWARE_RENDERERS):
        return _check("opengl", "warn", detail + " (software rendering)",
                      "the 3D view draws on the CPU and will be slow: install the GPU's OpenGL driver")
    return _check("opengl", "ok", detail)


def _field(report: str, key: str) -> str:
    match = re.search(rf"{key}:\s*(.+)", report)
    return match.group(1).strip() if match else ""


def _check(name: str, status: str, detail: str, hint: str = "") -> dict[str, str]:
    return {"name": name, "status": status, "detail": detail, "hint": hint}
