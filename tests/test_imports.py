"""The library's import graph: no module imports, even lazily inside a function, one that imports it back."""
import ast
from pathlib import Path

from tests.conftest import REPO


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The dllab modules ``path`` imports anywhere in its body (``from dllab.x import y`` is dllab.x, or
    dllab.x.y when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                      for alias in node.names}
    return {name for name in found if name in modules}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle's modules, found by depth-first search (each reported from where it was first entered)."""
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_the_library_imports_one_that_imports_it_back():
    paths = sorted((REPO / "dllab").rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): imports_of(p, modules) - {module_name(p)} for p in paths}
    # a package's __init__ importing its own modules is how packages work; only module-to-module edges count
    graph = {name: {m for m in targets if not name.startswith(m + ".") and not m.startswith(name + ".")}
             for name, targets in graph.items()}
    assert cycles(graph) == []
