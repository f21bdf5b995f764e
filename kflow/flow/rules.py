"""Whole-flow rules Kestra's FlowValidator checks once the flow parsed: each a load error.

Kept apart from the models because they look across tasks and inputs, not at one property.
"""

from __future__ import annotations

from kflow.flow.errors import Problem, join_path
from kflow.flow.model import Flow


def flow_problems(flow: Flow) -> list[Problem]:
    """Duplicate input ids, and a Subflow that calls the flow it is in (Kestra: "Recursive call")."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, declared in enumerate(flow.inputs):
        if declared.id in seen:
            problems.append(Problem(join_path("inputs", i, "id"), f"duplicate input id {declared.id!r}; input ids are unique in a flow"))
        seen.add(declared.id)
    for task in flow.all_tasks():
        if task.subflow_id() == (flow.namespace, flow.id):
            problems.append(Problem(f"task {task.id!r}.flowId", f"recursive call to flow [{flow.namespace}.{flow.id}]: a flow cannot run itself as a subflow"))
    return problems
