"""ForEachItem's items task in the engine: one child execution per batch, one attempt for all.

Pure, like the engine. The split task's outputs say how many batches there are; each batch's
URI is known from the split task run's place in storage. The items task run's outputs keep,
per batch, the child's state (RUNNING until its end is reported): a repeated report of one
child's end (an operator restart) changes nothing, and the attempt ends once every child did.
"""

from __future__ import annotations

from typing import Any

from kflow.engine.events import AttemptEnded, StartSubflow
from kflow.engine.ids import subflow_execution_id, taskrun_id
from kflow.engine.index import ExecutionIndex
from kflow.execution import State, TaskRun, worst
from kflow.flow.task import Task

_WAITING = State.RUNNING.value


MAX_BATCHES = 1000  # child executions one ForEachItem may start: each is an Execution object on a cluster


def batch_name(iteration: int, extension: str) -> str:
    """Where batch N is stored among the split task run's files (the split task names it too)."""
    return f"batches/{iteration}{extension}"


class BatchError(ValueError):
    """The batches cannot start (the split task's outputs are missing or too many)."""


def batch_execution_id(execution_id: str, taskrun: str, attempt: int, iteration: int) -> str:
    """The child execution of one batch: the same attempt and batch always name the same child."""
    return subflow_execution_id(execution_id, taskrun, attempt) + f"-{iteration}"


def label_map(labels: dict[str, Any] | list[dict[str, Any]] | None) -> dict[str, str]:
    """A Subflow's rendered `labels`, a map or Kestra's list of {key, value}, as a map of text."""
    if isinstance(labels, list):
        return {str(item.get("key")): str(item.get("value")) for item in labels if isinstance(item, dict)}
    return {str(k): str(v) for k, v in (labels or {}).items()}


def start_batches(index: ExecutionIndex, taskrun: TaskRun, task: Task, attempt: int, context: dict[str, Any],
                  namespace: str, flow_id: str, labels: dict[str, str]) -> list[StartSubflow]:
    """The StartSubflow actions of every batch; sets the task run's outputs to all RUNNING."""
    from kflow.expr import render_value
    from kflow.uris import task_uri

    execution = index.execution
    split = index.by_id.get(taskrun_id(execution.id, taskrun.parentTaskRunId, task.split, None))
    done = (split.outputs or {}) if split is not None else {}
    if "numberOfBatches" not in done:
        raise BatchError(f"the split task {task.split!r} gave no batches")
    count = int(done["numberOfBatches"])
    if count > MAX_BATCHES:
        raise BatchError(f"{count} batches, more than the {MAX_BATCHES} one ForEachItem may start")
    actions = []
    for iteration in range(count):
        items = task_uri(execution.namespace, execution.flowId, execution.id, split.taskId, split.id, batch_name(iteration, done.get("extension", ".tmp")))
        scope = {**context, "taskrun": {**context.get("taskrun", {}), "items": items, "iteration": iteration}}
        inputs = render_value(task.inputs or {}, scope)
        child = batch_execution_id(execution.id, taskrun.id, attempt, iteration)
        actions.append(StartSubflow(taskrun.id, attempt, task.id, child, namespace, flow_id, inputs, labels, task.wait, iteration=iteration))
    index.set_outputs(taskrun, _outputs([_WAITING] * count, [None] * count))
    return actions


# Every state a child is counted in, always present: on a cluster the status is written as a
# merge patch, where a key left out would keep its old count.
_COUNTED = ("CREATED", "RUNNING", "SUCCESS", "WARNING", "FAILED", "KILLED")


def _outputs(states: list[str], results: list[dict[str, Any] | None]) -> dict[str, Any]:
    iterations: dict[str, int] = dict.fromkeys(_COUNTED, 0)
    for state in states:
        iterations[state] = iterations.get(state, 0) + 1
    return {"numberOfBatches": len(states), "iterations": iterations,
            "executions": [{"state": state, **(result or {})} for state, result in zip(states, results)]}


def batch_ended(index: ExecutionIndex, taskrun: TaskRun, task: Task, event: AttemptEnded) -> AttemptEnded | None:
    """Record one child's end; the attempt's own end once every child ended, else None."""
    outputs = taskrun.outputs or {}
    entries = list(outputs.get("executions") or [])
    if event.iteration is None or not 0 <= event.iteration < len(entries) or entries[event.iteration]["state"] != _WAITING:
        return None  # unknown or already recorded: a repeated report
    state = event.state if task.wait else State.CREATED  # not waited for: it was only created
    result = {k: v for k, v in (event.outputs or {}).items() if k in ("executionId", "outputs")}
    entries[event.iteration] = {"state": state.value, **result, **({"reason": event.reason} if event.reason and state.failed else {})}
    states = [entry["state"] for entry in entries]
    index.set_outputs(taskrun, _outputs(states, [{k: v for k, v in e.items() if k != "state"} for e in entries]))
    if _WAITING in states:
        return None
    final = worst(State(s) for s in states if s != State.CREATED.value) if task.wait else State.SUCCESS
    final = final or State.SUCCESS
    reason = None
    if final.failed:
        failed = [i for i, s in enumerate(states) if State(s).failed]
        reason = f"{len(failed)} of {len(states)} batch executions failed (batch {failed[0]}: {entries[failed[0]].get('reason') or 'it ended ' + states[failed[0]]})"
        final = State.FAILED
    return AttemptEnded(taskrun.id, event.attempt, final, taskrun.outputs, reason)


def waiting_children(taskrun: TaskRun) -> list[int]:
    """The batches whose child has not ended yet (a shell looks for them after a restart, or kills them)."""
    entries = (taskrun.outputs or {}).get("executions") or []
    return [i for i, entry in enumerate(entries) if entry and entry.get("state") == _WAITING]
