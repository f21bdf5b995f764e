"""The variables a task run's expressions see, sliced to what its templates read."""

from __future__ import annotations

from typing import Any

from kflow.attempt_logs import AttemptLogs
from kflow.engine.error_logs import error_logs
from kflow.engine.index import ExecutionIndex
from kflow.execution import TaskRun
from kflow.flow.task import Task
from kflow.kv import KVStore, snapshot


def _referenced(task: Task, cache: dict[str, set[str] | None]) -> set[str] | None:
    if task.id not in cache:
        from kflow.expr import referenced_outputs

        # A flowable's children are resolved on their own; a runnable's (WorkingDirectory) run with it.
        children = set(task.task_lists) if task.flowable else set()
        raw = task.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude=children)
        cache[task.id] = referenced_outputs(raw)
    return cache[task.id]


def _calls(function: str, task: Task, cache: dict) -> bool:
    """Does the task's definition name `function`? Only then is its (whole-execution) data built."""
    key = (function, task.id)
    if key not in cache:
        cache[key] = function in task.model_dump_json(by_alias=True, exclude_unset=True)
    return cache[key]


def task_states(index: ExecutionIndex) -> list[dict[str, Any]]:
    """What Kestra's tasksWithState() picks from: each task run's id, task, value and state."""
    return [{"taskId": tr.taskId, "taskRunId": tr.id, "value": tr.value, "state": tr.state.current.value}
            for tr in index.execution.taskRunList]


def _kv_keys(task: Task, cache: dict) -> set[tuple[str | None, str]]:
    key = ("kv", task.id)
    if key not in cache:
        from kflow.expr.analysis import referenced_kv

        children = set(task.task_lists) if task.flowable else set()
        cache[key] = referenced_kv(task.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude=children))
    return cache[key]


def nested_labels(labels: dict[str, str]) -> dict[str, Any]:
    """Labels as Kestra expressions see them: `system.correlationId` is also labels.system.correlationId."""
    out: dict[str, Any] = dict(labels)
    for key, value in labels.items():
        if "." in key:
            head, _, rest = key.partition(".")
            slot = out.get(head)
            if slot is None or isinstance(slot, dict):
                out[head] = {**(slot or {}), **nested_labels({rest: value})}
    return out


def expression_context(index: ExecutionIndex, taskrun: TaskRun | None, task: Task | None, cache: dict,
                       kv: KVStore | None = None, logs: AttemptLogs | None = None) -> dict[str, Any]:
    """Kestra's variables for one task run (or, with no task run, for the execution).

    `kv` is the execution's KV store (the shell's): the values of the keys a task's `kv()`
    calls name are read from it into `_kv`, so a runner is given them with the rest. `logs`,
    its attempt logs (the shell's too), are read for `errorLogs()` only when the task calls it."""
    execution = index.execution
    flow = index.plan.flow
    context: dict[str, Any] = {
        "flow": {"id": flow.id, "namespace": flow.namespace, "revision": flow.revision or 1},
        "execution": {
            "id": execution.id,
            "startDate": execution.state.start_date,
            "originalId": execution.originalId or execution.id,
        },
        "inputs": execution.inputs,
        "vars": flow.variables,
        "labels": nested_labels(execution.labels),
        "trigger": execution.trigger or {},
    }
    if task is not None:
        referenced = _referenced(task, cache)
        if referenced is None:
            context["outputs"] = index.outputs
        else:
            context["outputs"] = {k: index.outputs[k] for k in referenced if k in index.outputs}
        context["task"] = {"id": task.id, "type": task.type}
        if _calls("errorLogs", task, cache):
            context["_error_logs"] = error_logs(index, logs, taskrun)
        if _calls("tasksWithState", task, cache):
            context["_task_states"] = task_states(index)
        kv_keys = _kv_keys(task, cache)
        if kv_keys:
            context["_kv"] = snapshot(kv, kv_keys, flow.namespace)
    else:
        context["outputs"] = index.outputs
    if taskrun is not None:
        context["taskrun"] = {
            "id": taskrun.id,
            "startDate": taskrun.state.start_date,
            "attemptsCount": max(len(taskrun.attempts) - 1, 0),
            "parentId": taskrun.parentTaskRunId,
            "value": taskrun.value,
            "iteration": taskrun.iteration,
        }
        parents = index.parents(taskrun)
        if parents:
            chain = [{"taskrun": {"value": p.value, "id": p.id}} for p in parents]
            context["parent"] = chain[0]
            context["parents"] = chain
    return context
