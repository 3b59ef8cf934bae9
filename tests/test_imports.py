"""The import graph of ``scripts/dlrepro`` (read with ``ast``, nothing is imported): no cycle,
no private name imported from another module, no module over 450 lines.

Every ``import`` / ``from ... import`` counts, also one inside a function (an import placed
there to dodge a cycle is still a cycle).  Relative imports are resolved against the
module's package; ``from P import name`` is an edge to the submodule ``P.name`` when there
is one, else to ``P`` itself (its ``__init__``).  A package's ``__init__`` re-exports are
edges from the package to its submodules, so a submodule importing its own package's
``__init__`` is a cycle, as it is at run time.
"""

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "scripts" / "dlrepro"
MAX_LINES = 450


def modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the library (a package: its ``__init__.py``)."""
    found = {}
    for path in sorted(LIB.rglob("*.py")):
        parts = path.relative_to(LIB.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known) -> list[tuple[str, str | None, int]]:
    """``(imported dlrepro module, imported name or None, line)`` for every import in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "dlrepro"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.split(".")[0] != "dlrepro":
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.append((sub, None, node.lineno) if sub in known else (module, alias.name, node.lineno))
    return found


def graph() -> dict[str, dict[str, int]]:
    """Module -> {imported dlrepro module: line of the first such import}."""
    known = modules()
    edges: dict[str, dict[str, int]] = {}
    unresolved = []
    for name, path in known.items():
        edges[name] = {}
        for target, _imported, line in imports(name, path, known):
            if target not in known:
                unresolved.append(f"{path.relative_to(LIB.parent)}:{line}: {target}")
            elif target != name:
                edges[name].setdefault(target, line)
    assert not unresolved, "imports of dlrepro modules that do not exist:\n" + "\n".join(unresolved)
    return edges


def find_cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle per back edge of a depth-first search (empty: the graph is acyclic)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    cycles = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, {})):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return cycles


def describe(cycle: list[str], edges) -> str:
    steps = [f"{a} (line {edges[a][b]})" for a, b in zip(cycle, cycle[1:], strict=False)]
    return " -> ".join([*steps, cycle[-1]])


def test_the_graph_sees_imports_inside_functions_and_packages(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from . import sub\nfrom .sub import name\n\n\ndef f():\n    from .. import io\n"
        "    from ..pkg import _hidden\n    import dlrepro.io\n"
    )
    known = {"dlrepro", "dlrepro.io", "dlrepro.pkg", "dlrepro.pkg.sub", "dlrepro.pkg.mod"}
    assert imports("dlrepro.pkg.mod", source, known) == [
        ("dlrepro.pkg.sub", None, 1),
        ("dlrepro.pkg.sub", "name", 2),
        ("dlrepro.io", None, 6),
        ("dlrepro.pkg", "_hidden", 7),
        ("dlrepro.io", None, 8),
    ]
    assert "dlrepro.hyperspectral.streaming" in graph()["dlrepro.hyperspectral"]  # __init__ re-export
    assert find_cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == [["a", "b", "c", "a"]]


def test_no_import_cycle():
    edges = graph()
    cycles = find_cycles(edges)
    assert not cycles, "import cycles among the dlrepro modules:\n" + "\n".join(
        describe(c, edges) for c in cycles
    )


def test_no_private_name_imported_from_another_module():
    known = modules()
    bad = [
        f"{path.relative_to(LIB.parent)}:{line}: {imported} from {target}"
        for name, path in known.items()
        for target, imported, line in imports(name, path, known)
        if imported and imported.startswith("_") and not imported.endswith("__") and target != name
    ]
    assert not bad, "private names imported across modules (make them public):\n" + "\n".join(bad)


def test_no_module_over_450_lines():
    long = {
        str(path.relative_to(LIB.parent)): n
        for path in modules().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
