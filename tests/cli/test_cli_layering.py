"""The CLI (and kflow/client below it) reads Executions through kflow.execution, never through
the operator's internals."""

from __future__ import annotations

import ast
from pathlib import Path

KFLOW = Path(__file__).parents[2] / "kflow"
OPERATOR_INTERNALS = ("kflow.operator.resources", "kflow.operator.names")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_cli_does_not_import_operator_internals():
    offenders = {
        f"{path.name}: {name}"
        for path in sorted([*(KFLOW / "cli").glob("*.py"), *(KFLOW / "client").glob("*.py")])
        for name in _imports(path)
        if any(name == internal or name.startswith(internal + ".") for internal in OPERATOR_INTERNALS)
    }
    assert not offenders, sorted(offenders)


def test_operator_names_are_the_executions_names():
    from kflow.execution import names
    from kflow.operator import names as operator_names

    assert operator_names.pod_name is names.pod_name and operator_names.LABEL_EXECUTION == names.LABEL_EXECUTION
