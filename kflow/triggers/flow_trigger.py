"""Flow triggers: does an ended execution start this flow, and what does the new run see?

Pure: the upstream execution comes in as the operator stores it, typed: the Execution's
status read by `ExecutionStatus.read` (its task runs, archived ones too, from `.task_runs()`).
"""

from __future__ import annotations

import logging
from typing import Any

from kflow.execution.status import ExecutionStatus
from kflow.triggers.conditions import condition_holds
from kflow.flow.triggers import FlowTrigger

log = logging.getLogger("kflow.triggers")


def matches(trigger: FlowTrigger, flow_namespace: str, flow_id: str, upstream: ExecutionStatus) -> bool:
    """Whether the ended `upstream` execution alone starts `trigger` of flow `flow_namespace.flow_id`.

    Preconditions that wait for several executions (kflow.triggers.preconditions.stateful) are
    never met by one execution here: the operator evaluates them with what it remembers.
    """
    from kflow.triggers.preconditions import single_match, stateful

    if not passes_filters(trigger, flow_namespace, flow_id, upstream) or stateful(trigger, flow_variables) is not None:
        return False
    if trigger.preconditions is not None:
        return single_match(trigger.preconditions, upstream, flow_variables)
    return True


def passes_filters(trigger: FlowTrigger, flow_namespace: str, flow_id: str, upstream: ExecutionStatus) -> bool:
    """The trigger's own filters: enabled, not its own flow, `states`, the one-execution `conditions`.

    A flow never triggers itself (a trigger with no condition would otherwise loop forever).
    """
    from kflow.flow.triggers import MultipleCondition

    if trigger.disabled:
        return False
    if (upstream.namespace, upstream.flowId) == (flow_namespace, flow_id):
        return False
    if upstream.current not in trigger.states:
        return False
    return all(condition_holds(c, upstream) for c in trigger.conditions if not isinstance(c, MultipleCondition))


def task_outputs(upstream: ExecutionStatus) -> dict[str, Any]:
    """Outputs by task id as expressions see them (loop values nest: outputs.t[value]).

    StatusError names a stored task run that cannot be read back."""
    out: dict[str, Any] = {}
    for run in upstream.task_runs({}):  # creation order; no flow snapshot to parse for ties
        if run.outputs is None:
            continue
        if run.value is None:
            out[run.taskId] = run.outputs
        else:
            out.setdefault(run.taskId, {})[run.value] = run.outputs
    return out


def _upstream_context(upstream: ExecutionStatus) -> dict[str, Any]:
    return {
        "flow": {"id": upstream.flowId, "namespace": upstream.namespace, "revision": upstream.flowRevision or 1},
        "execution": {"id": upstream.id, "startDate": upstream.startDate},
        "inputs": upstream.inputs or {},
        "labels": upstream.labels or {},
        "vars": (upstream.flow or {}).get("variables") or {},
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

    return render_value({"inputs": dict(inputs)}, context)["inputs"]  # an error names `inputs.<key>`


def flow_trigger_inputs(trigger: FlowTrigger, upstream: ExecutionStatus, variables: dict[str, Any]) -> dict[str, Any]:
    """Inputs see the upstream execution (`outputs.task.x`, Kestra's older form) and `trigger.*`."""
    return render_inputs(trigger.inputs, {**_upstream_context(upstream), "trigger": variables})
