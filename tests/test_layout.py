"""The package's layers: imports point one way and never run in a circle.

Every import inside ``src/nnfit`` counts, at module level or inside a function (a lazy import
is still a dependency); only ``if TYPE_CHECKING:`` blocks are left out. Layers, lowest first:
the foundation modules at the top level (errors, safetext, memory, checks), then io → data →
core → views, export, regressor → runs → cli and web → the package itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nnfit

ROOT = Path(nnfit.__file__).parent
LAYERS = {  # package prefix → layer; a module may import only its own layer or lower ones
    "nnfit.io": 1,
    "nnfit.data": 2,
    "nnfit.core": 3,
    "nnfit.views": 4,
    "nnfit.export": 4,
    "nnfit.regressor": 4,
    "nnfit.estimator_settings": 4,
    "nnfit.settings": 4,
    "nnfit.runs": 5,
    "nnfit.sklearn": 5,
    "nnfit.sweep": 5,
    "nnfit.race": 5,
    "nnfit.cli": 6,
    "nnfit.web": 6,  # beside the CLI: both adapters over the library; cli/serve.py calls it
    "nnfit.__main__": 7,
}
SIBLINGS_APART = ("nnfit.views", "nnfit.export", "nnfit.regressor")  # same layer, no imports


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
            for node in ast.walk(block)
        }
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    found = full if full in modules else target
                    if found in modules and found != name:
                        graph[name].add(found)
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in modules} - {name}
    return graph


def layer(name: str) -> int:
    for prefix, number in LAYERS.items():
        if name == prefix or name.startswith(prefix + "."):
            return number
    return 8 if name == "nnfit" else 0  # the package re-exports; top-level modules are the base


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_runs_in_a_circle():
    assert cycles(import_graph()) == []


def test_imports_point_down_the_layers():
    wrong = []
    for name, imported in import_graph().items():
        for other in imported:
            apart = [p for p in SIBLINGS_APART if name.startswith(p) or other.startswith(p)]
            same_layer_siblings = layer(other) == layer(name) and len(set(apart)) == 2
            if layer(other) > layer(name) or same_layer_siblings:
                wrong.append(f"{name} -> {other}")
    assert wrong == []


def test_the_checker_sees_a_circle_and_an_upward_import():
    graph = {"nnfit.io.a": {"nnfit.core.b"}, "nnfit.core.b": {"nnfit.io.a"}}
    assert cycles(graph) == [["nnfit.core.b", "nnfit.io.a"]]
    assert layer("nnfit.core.b") > layer("nnfit.io.a")  # so io.a -> core.b is an upward import
    assert "nnfit.runs.runner" in import_graph()["nnfit.cli.fit"]  # real edges are found
