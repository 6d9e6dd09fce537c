"""The package's structure, read from its imports (those inside functions too): no import
circle, and no module taking another module's ``_private`` name (shared helpers live in
``_``-prefixed modules under public names)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xr_landcover"


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path) -> dict[str, Path]:
    return {module_name(p, package): p for p in package.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, str | None, int]]:
    """``(module, imported name or None, line)`` for each import of a package module."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target not in known:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:  # "from . import labels": the submodule itself
                    found.append((sub, None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
    return found


def import_graph(package: Path = PACKAGE) -> tuple[dict[str, set[str]], list[str]]:
    mods = modules(package)
    known = set(mods)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    private = []
    for name, path in mods.items():
        for target, imported, line in imports_of(name, path, known):
            # a package importing its own submodules is how it re-exports: not an edge back
            if target != name and not target.startswith(name + "."):
                graph[name].add(target)
            if (imported and imported.startswith("_") and not imported.startswith("__")
                    and target != name):
                private.append(f"{path.relative_to(package.parent)}:{line} takes {imported} "
                               f"from {target}")
    return graph, private


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_reader_sees_the_imports():
    graph, _ = import_graph()
    assert "xr_landcover.classification.model" in graph["xr_landcover.classification.pixels"]
    # function-level imports count: classify imports the object-based path inside a function
    assert "xr_landcover.classification.segments" in graph["xr_landcover.classification.pixels"]


def test_no_import_circle():
    graph, _ = import_graph()
    assert circles(graph) == []


def test_no_private_name_from_another_module():
    _, private = import_graph()
    assert private == []


def test_a_planted_circle_and_private_import_are_found(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("from .sub.b import _helper\n\ndef f():\n    return _helper\n")
    (pkg / "sub" / "__init__.py").write_text("")
    # the way back is inside a function: it still closes the circle
    (pkg / "sub" / "b.py").write_text("def _helper():\n    from ..a import f\n    return f\n")
    graph, private = import_graph(pkg)
    assert circles(graph) == [["pkg.a", "pkg.sub.b"]]
    assert private == ["pkg/a.py:1 takes _helper from pkg.sub.b"]
