"""Flow triggers: does an ended execution start this flow, and what does the new run see?

Pure: the upstream execution comes in as the operator stores it, read through the typed
status (kflow.execution.status.ExecutionStatus: id, namespace, flowId, flowRevision, current,
task runs archived or not, flow snapshot).
"""

from __future__ import annotations

import logging
from typing import Any

from kflow.execution.status import ExecutionStatus
from kflow.flow.triggers import (
    ExecutionFlowCondition,
    ExecutionNamespaceCondition,
    ExecutionStatusCondition,
    FlowTrigger,
)

log = logging.getLogger("kflow.triggers")


def matches(trigger: FlowTrigger, flow_namespace: str, flow_id: str, upstream: ExecutionStatus) -> bool:
    """Whether the ended `upstream` execution starts `trigger` of flow `flow_namespace.flow_id`.

    A flow never triggers itself (a trigger with no condition would otherwise loop forever).
    """
    if trigger.disabled:
        return False
    namespace, upstream_flow, state = upstream.namespace, upstream.flowId, upstream.current
    if (namespace, upstream_flow) == (flow_namespace, flow_id):
        return False
    if state not in trigger.states:
        return False
    for condition in trigger.conditions:
        if not _condition(condition, namespace, upstream_flow, state):
            return False
    if trigger.preconditions is not None:
        return any(
            f.namespace == namespace and f.flowId == upstream_flow and state in f.states
            for f in trigger.preconditions.flows
        )
    return True


def _condition(condition: Any, namespace: str | None, flow_id: str | None, state: str | None) -> bool:
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


def task_outputs(upstream: ExecutionStatus) -> dict[str, Any]:
    """Outputs by task id as expressions see them (loop values nest: outputs.t[value])."""
    out: dict[str, Any] = {}
    for run in upstream.task_runs({}):  # archived chunks too; the order does not matter here
        if run.outputs is None:
            continue
        if run.value is None:
            out[run.taskId] = run.outputs
        else:
            out.setdefault(run.taskId, {})[run.value] = run.outputs
    return out


def _upstream_context(upstream: ExecutionStatus) -> dict[str, Any]:
    flow = upstream.flow or {}
    return {
        "flow": {"id": upstream.flowId, "namespace": upstream.namespace, "revision": upstream.flowRevision or 1},
        "execution": {"id": upstream.id, "startDate": upstream.startDate},
        "inputs": upstream.inputs or {},
        "labels": upstream.labels or {},
        "vars": flow.get("variables") or {},
        "outputs": task_outputs(upstream),
    }


def flow_outputs(upstream: ExecutionStatus) -> dict[str, Any]:
    """The upstream flow's `outputs`: as its execution recorded them (the engine renders them
    on success), else its declared outputs rendered against its task outputs now.

    An output that cannot be rendered (its task did not run) is left out and logged.
    """
    from kflow.expr import ExpressionError, render_value

    if upstream.outputs is not None:
        return dict(upstream.outputs)
    declared = (upstream.flow or {}).get("outputs") or []
    if not declared:
        return {}
    context = _upstream_context(upstream)
    out: dict[str, Any] = {}
    for item in declared:
        try:
            out[item["id"]] = render_value(item.get("value"), context)
        except ExpressionError as err:
            log.warning("flow output %s of execution %s not rendered: %s", item.get("id"), upstream.id, err)
    return out


def flow_variables(upstream: ExecutionStatus) -> dict[str, Any]:
    """`trigger.*` for a run started by `upstream`'s end, as Kestra names them."""
    return {
        "executionId": upstream.id,
        "namespace": upstream.namespace,
        "flowId": upstream.flowId,
        "flowRevision": upstream.flowRevision,
        "state": upstream.current,
        "outputs": flow_outputs(upstream),
    }


def render_inputs(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """A trigger's `inputs` rendered with `context`; ExpressionError names the bad one."""
    from kflow.expr import render_value

    return {key: render_value(value, context) for key, value in inputs.items()}


def flow_trigger_inputs(trigger: FlowTrigger, upstream: ExecutionStatus, variables: dict[str, Any]) -> dict[str, Any]:
    """Inputs see the upstream execution (`outputs.task.x`, Kestra's older form) and `trigger.*`."""
    return render_inputs(trigger.inputs, {**_upstream_context(upstream), "trigger": variables})
