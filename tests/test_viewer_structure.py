"""The viewer's shape: no import cycle between its modules, wings that depend one way, few
modules at the top, and models that load neither Qt nor VTK.

The import graph is grimp's (import-linter's own library): every import statement counts,
those inside functions and under ``TYPE_CHECKING`` too, since a cycle through them is still a
cycle in the design.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
# Each wing may import the wings before it, never one after it: models hold state and know no
# toolkit; views draw models; the chat panel uses views; the window composes them all.
WINGS = ("models", "views", "chat", "window")
MAX_TOP_LEVEL_MODULES = 12
GUI_LIBRARIES = {"PySide6", "shiboken6", "vtk", "vtkmodules", "pyvista", "pyvistaqt"}


def viewer_imports() -> dict[str, set[str]]:
    """Every viewer module and the viewer modules it imports."""
    graph = grimp.build_graph("viewer", cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def import_cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan's
    strongly connected components of more than one module, or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(imports.get(module, ())):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in imports.get(module, ()):
                cycles.append(sorted(group))

    for module in sorted(imports):
        if module not in index:
            visit(module)
    return cycles


def wing_of(module: str) -> str | None:
    """The wing (``viewer.<wing>``) a module lives in; None for the top of the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in WINGS) else None


def test_the_cycle_finder_finds_cycles():
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles(imports) == [["a", "b", "c"], ["e"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_viewer():
    cycles = import_cycles(viewer_imports())
    assert not cycles, "modules of viewer/ that import each other: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_wings_import_only_the_wings_before_them():
    backward = []
    for module, imported in viewer_imports().items():
        wing = wing_of(module)
        if wing is None:
            continue
        assert wing in WINGS, f"{module}: viewer/{wing}/ is not one of the wings {WINGS}"
        for other in imported:
            other_wing = wing_of(other)
            if other_wing is None or WINGS.index(other_wing) > WINGS.index(wing):
                backward.append(f"{module} imports {other}")
    assert not backward, "\n".join(sorted(backward))


def test_few_modules_at_the_top_of_the_viewer():
    top = sorted(p.name for p in (ROOT / "viewer").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_the_models_load_neither_qt_nor_vtk():
    code = (
        "import importlib, pkgutil, sys\n"
        "import viewer.models\n"
        "for m in pkgutil.walk_packages(viewer.models.__path__, 'viewer.models.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(','.join(sorted(n for n in sys.modules if n.split('.')[0] in {sorted(GUI_LIBRARIES)!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"viewer.models pulled in: {result.stdout}"
