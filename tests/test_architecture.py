"""The shape of the package: stages in layers, nothing imports upward, no cycles, small modules.

Every ``import eitest...`` in the package (at module level or inside a function) is read
from the source with :mod:`ast`, so a lazy import that breaks the layering is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "eitest"
MAX_LINES = 400

# Lowest first. A module may import from its own layer or any layer below it.
LAYERS: list[tuple[str, ...]] = [
    ("vocabulary", "version", "errors", "paths", "files", "reading", "secrets", "controls"),
    ("instruments",),
    ("store",),
    ("stats",),
    ("client",),
    ("administer",),
    ("probes",),
    ("scoring",),
    ("outputs",),
    ("human",),
    ("generate",),
    ("workflows",),
    ("cli", "__main__"),
    ("__init__",),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _runtime_nodes(tree: ast.AST):
    """Every node outside ``if TYPE_CHECKING:`` blocks (type-only imports add no dependency at run time)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """The eitest modules that ``path`` imports at run time (``from eitest import x`` counts as eitest.x)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "eitest"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "eitest":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {_owner(t, modules) for t in found}


def _owner(target: str, modules: set[str]) -> str:
    while target not in modules and "." in target:
        target = target.rpartition(".")[0]
    return target


def _layer(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def test_every_top_level_part_has_a_layer():
    tops = {_layer(m) for m in _modules()}
    assert tops <= set(RANK), f"give these a layer in LAYERS: {sorted(tops - set(RANK))}"


def test_nothing_imports_upward():
    modules = _modules()
    upward = []
    for module, path in modules.items():
        for target in _imports(path, module, set(modules)):
            if RANK[_layer(target)] > RANK[_layer(module)]:
                upward.append(f"{module} imports {target}")
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        deps = set()
        for target in _imports(path, module, set(modules)):
            # a package's __init__ re-exporting its own modules is not a cycle of concerns
            if target in modules and target != module and not module.startswith(target + "."):
                deps.add(target)
        graph[module] = deps
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*trail[trail.index(dep) :], dep]) if dep in trail else f"{node} -> {dep}")
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_no_module_is_a_god_module():
    long = {
        str(p.relative_to(REPO)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_layer_test_sees_an_upward_import(tmp_path: Path):
    # The check itself must be able to fail: a store module that imports the scoring stage.
    fake = tmp_path / "eitest" / "store"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("def f():\n    from eitest.scoring import analysis\n", encoding="utf-8")
    targets = _imports(fake / "bad.py", "eitest.store.bad", {"eitest.scoring", "eitest.scoring.analysis"})
    assert "eitest.scoring.analysis" in targets
    assert RANK[_layer("eitest.scoring.analysis")] > RANK[_layer("eitest.store.bad")]
