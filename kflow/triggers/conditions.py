"""The one-execution conditions of a Flow trigger: ExecutionFlow, ExecutionStatus, ExecutionNamespace."""

from __future__ import annotations

from typing import Any

from kflow.execution.status import ExecutionStatus
from kflow.flow.triggers import ExecutionFlowCondition, ExecutionNamespaceCondition, ExecutionStatusCondition


def condition_holds(condition: Any, upstream: ExecutionStatus) -> bool:
    """One ExecutionFlow / ExecutionStatus / ExecutionNamespace condition on the upstream execution."""
    return holds_for(condition, upstream.namespace, upstream.flowId, upstream.current)


def holds_for(condition: Any, namespace: str | None, flow_id: str | None, state: str | None) -> bool:
    """The same condition on an execution known by these three (a flow's listeners judge their own)."""
    if isinstance(condition, ExecutionFlowCondition):
        return condition.namespace == namespace and condition.flowId == flow_id
    if isinstance(condition, ExecutionStatusCondition):
        return (not condition.in_ or state in condition.in_) and state not in condition.notIn
    if isinstance(condition, ExecutionNamespaceCondition):
        ns = namespace or ""
        comparison = condition.comparison or ("PREFIX" if condition.prefix else "EQUALS")
        if comparison == "PREFIX":
            return ns.startswith(condition.namespace)
        if comparison == "SUFFIX":
            return ns.endswith(condition.namespace)
        return ns == condition.namespace
    return False
