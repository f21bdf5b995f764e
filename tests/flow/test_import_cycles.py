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


# Issue 13 item 5: each layer imports only those below it and beside it (the cycle test keeps
# packages of one layer from importing each other both ways; the UI's own test keeps it off the CLI).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("kflow", "kflow.javatime", "kflow.execution", "kflow.flow", "kflow.masking", "kflow.uris", "kflow.kv", "kflow.attempt_logs"),  # kflow.kv: the KV store's contract, pydantic only  # the data and the flow language
    ("kflow.expr", "kflow.storage"),
    ("kflow.engine", "kflow.triggers"),
    ("kflow.tasks", "kflow.gantt"),
    ("kflow.runner", "kflow.local", "kflow.operator"),  # the shells
    ("kflow.client",),  # what the CLI and the web UI both do against a cluster
    ("kflow.cli", "kflow.ui", "kflow.conformance", "kflow.__main__"),
)
# Still reaching up (not yet moved): the engine builds the runner's wire format (Invocation),
# and a task's run() takes the runner's RunContext; WorkingDirectory runs its tasks in-process.
REACHES_UP = {
    ("kflow.engine", "kflow.runner.invocation"),
    ("kflow.tasks", "kflow.runner.context"),
    ("kflow.tasks", "kflow.runner.invocation"),
    ("kflow.tasks", "kflow.runner.reaper"),
    ("kflow.tasks", "kflow.runner.run"),
}


def package(name: str) -> str:
    """The top-level package (or module) of `name` that LAYERS lists."""
    parts = name.split(".")
    return next(".".join(parts[:n]) for n in range(len(parts), 0, -1) if any(".".join(parts[:n]) in layer for layer in LAYERS))


def layer(name: str) -> int:
    return next(i for i, members in enumerate(LAYERS) if package(name) in members)


def upward_imports() -> set[tuple[str, str]]:
    """(package, module imported) for each import of a module above the importer's layer."""
    known = modules()
    found = set()
    for name, path in known.items():
        for target in imports(name, path, known):
            here = package(name)
            if layer(target) > layer(name):
                found.add((here, target))
    return found


def test_every_module_has_a_layer():
    """A new package (or top-level module) is placed in LAYERS, not left to fall under `kflow`."""
    assert [name for name in modules() if package(name) == "kflow" and name != "kflow"] == []


def test_each_layer_imports_only_those_below_it():
    found = upward_imports()
    assert found <= REACHES_UP, sorted(found - REACHES_UP)
    assert not any(layer(target) == 0 for _, target in found)


def test_the_bottom_layer_imports_nothing_above_it():
    known = modules()
    for name, path in known.items():
        if layer(name) == 0:
            assert {target for target in imports(name, path, known) if layer(target) > 0} == set(), name


def test_the_ui_does_not_import_the_cli():
    known = modules()
    found = {target for name, path in known.items() if name.startswith("kflow.ui") for target in imports(name, path, known)}
    assert {target for target in found if target == "kflow.cli" or target.startswith("kflow.cli.")} == set()
