"""No import cycles between kflow modules, read from the source with `ast` (every import counts:
module level, inside functions and under TYPE_CHECKING, since each is a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

import kflow

ROOT = Path(kflow.__file__).parent

FIXED = [
    {"kflow.tasks.scripts", "kflow.tasks.script_container"},
    {"kflow.expr.environment", "kflow.expr.functions", "kflow.expr.render"},
    {"kflow.engine.node", "kflow.flow.task"},  # Node, what a flowable sees, is flow's now
    {"kflow.engine.engine", "kflow.engine.restart"},  # restart takes the plan and a start_attempt; ExecutionRun in engine.run
    {"kflow.local.executor", "kflow.local.subflows"},  # the executor hands LocalSubflows a factory of children
    {"kflow.flow.node", "kflow.flow.task"},  # FlowableTask, whose hooks take a Node, is kflow.flow.flowable
]
# Cycles still to remove; a new cycle fails the test.
KNOWN: list[set[str]] = []


def modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{node.module}" if node.module else anchor
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in known else base)
    return {target for target in found if target in known and target != name}


def cycles(root: Path = ROOT) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    known = modules(root)
    graph = {name: imports(name, path, known) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for name in graph:
        if name not in index:
            visit(name)
    return found


def test_the_detector_sees_cycles_of_every_kind_of_import(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    import pkg.c\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n")
    (package / "d.py").write_text("from . import a\n")
    assert cycles(package) == [{"pkg.a", "pkg.sub.b", "pkg.c"}]


def test_fixed_cycles_are_gone():
    found = cycles()
    for fixed in FIXED:
        assert not any(fixed & component == fixed or len(fixed & component) > 1 for component in found), found


def test_no_new_cycles():
    for component in cycles():
        assert component in KNOWN, f"import cycle between {sorted(component)}"


BOTTOM = ("kflow.javatime", "kflow.execution", "kflow.flow")
# Still reaching up from the bottom layer (issue 13 item 5): a runnable task's run() takes the
# runner's RunContext (type only), and a flow's triggers are kflow.triggers' models.
BOTTOM_REACHES_UP = {
    "kflow.runner.context", "kflow.triggers.models", "kflow.triggers.parse",
    # Known, not yet moved down: input validators run user regexes with the render's deadline
    # (expr.regexes), a FILE input's URI is checked with storage.uris, and the conformance table
    # reads the expression registries.
    "kflow.expr.regexes", "kflow.storage.uris", "kflow.expr.filters", "kflow.expr.functions",
}


def test_the_bottom_layer_imports_nothing_above_it():
    known = modules()
    above = set()
    for name, path in known.items():
        if name.startswith(BOTTOM):
            above |= {target for target in imports(name, path, known) if not target.startswith(BOTTOM)}
    assert above <= BOTTOM_REACHES_UP, sorted(above - BOTTOM_REACHES_UP)
    assert not any(target.startswith("kflow.engine") for target in above)
