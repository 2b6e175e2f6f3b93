"""No import cycle between the project's own modules, counting every import statement in a file
(inside functions too: an import deferred into a function still ties the two modules together).
The graph is built with ``ast`` from the source, so nothing is imported to build it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", "tests", "benchmarks", "artifacts", "data", "recipes", "docs", "node_modules"}


def project_modules() -> dict[str, Path]:
    """Dotted module name -> file, for the top-level modules and packages of the project."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIP or rel.parts[0].startswith("."):
            continue
        if len(rel.parts) > 1 and not (ROOT / rel.parts[0] / "__init__.py").exists():
            continue  # a folder of scripts, not a package
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module ``name`` refers to (itself, or the package holding it), or None."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules ``module`` imports anywhere in its file (``from pkg import sub`` counts sub)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            target = _resolve(name, modules)
            if target and target != module:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    edges = {m: imports_of(m, p, modules) for m, p in modules.items()}
    # A package's __init__ importing its own submodules is how packages work, and a submodule
    # importing its parent package only runs __init__: neither makes a cycle between modules.
    return {
        m: {t for t in ts if not t.startswith(m + ".") and not m.startswith(t + ".")}
        for m, ts in edges.items()
    }


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each as one cycle
    through it, e.g. ['a', 'b', 'a']."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [_cycle_through(set(c), edges) for c in components]


def _cycle_through(component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle from the component's first module back to itself (breadth-first)."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v] & component):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle in component {component}")


def test_finder_sees_imports_inside_functions(tmp_path):
    """The checker itself: a cycle closed by an import inside a function is found and named."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.c import g\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from . import a\n")
    modules = {f"pkg.{n}": pkg / f"{n}.py" for n in "abcd"} | {"pkg": pkg / "__init__.py"}
    edges = {m: imports_of(m, p, modules) for m, p in modules.items()}
    assert edges["pkg.d"] == {"pkg.a", "pkg"}
    assert find_cycles(edges) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_project_modules_are_found():
    modules = project_modules()
    for name in (
        "app",
        "model.generate",
        "evaluation.runner",
        "datagen.run",
        "retrieval.index",
        "training.sft",
    ):
        assert name in modules


def test_no_import_cycles():
    cycles = find_cycles(graph())
    assert not cycles, "import cycles between project modules:\n" + "\n".join(" -> ".join(c) for c in cycles)
