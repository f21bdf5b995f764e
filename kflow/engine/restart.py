"""Restart (the same execution, from its failed task runs) and replay (a new execution).

Kestra's rules: a restart gives each failed task run a new attempt and reopens its failed
parents; task runs of `errors` branches are dropped; outputs of what succeeded are kept.
A replay copies what ran before the chosen task run into a new execution (`originalId`
set) and runs the rest again.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Callable, Protocol

from kflow.engine.events import StepResult
from kflow.engine.ids import taskrun_id
from kflow.engine.plan import FlowPlan
from kflow.engine.run import ExecutionRun
from kflow.execution import Attempt, Execution, State, StateInfo, TaskRun

# The engine's way to start a task run's new attempt (what it returns: flowables to resolve).
StartAttempt = Callable[[ExecutionRun, TaskRun, Attempt, StepResult, datetime], list]


class HasPlan(Protocol):
    """What a replay needs of an engine: the flow's plan."""

    plan: FlowPlan

_KEPT = {State.SUCCESS, State.WARNING, State.SKIPPED}


class ReplayError(ValueError):
    pass


def restart(plan: FlowPlan, run: ExecutionRun, result: StepResult, now: datetime, start_attempt: StartAttempt) -> deque:
    """Reopen a FAILED or KILLED execution (or a RETRYING one: the flow's retry is due);
    returns the flowables to resolve."""
    execution, index = run.execution, run.index
    dirty: deque = deque()
    if execution.state.current not in (State.FAILED, State.KILLED, State.RETRYING):
        return dirty
    for taskrun in [tr for tr in execution.taskRunList if plan.places[tr.taskId].branch == "errors"]:
        if taskrun.id in index.by_id:
            _drop(run, taskrun, result)
    if execution.state.current != State.RETRYING:
        execution.state.to(State.RESTARTED, now)
    execution.state.to(State.RUNNING, now)
    execution.error = None
    execution.outputs = None
    result.execution_changed = True
    dirty.extend(_reopen(plan, run, list(execution.taskRunList), result, now, start_attempt))
    dirty.append(None)
    return dirty


def retry_flowable(plan: FlowPlan, run: ExecutionRun, flowable: TaskRun, result: StepResult, now: datetime, start_attempt: StartAttempt) -> list:
    """A flowable's retry is due: the failed task runs under it run again, as a restart would."""
    index = run.index
    flowable.attempts[-1].state.to(State.RUNNING, now)
    index.set_state(flowable, State.RUNNING, now)
    result.changed.add(flowable.id)
    run.memo.pop(flowable.id, None)
    below = _descendants(run, flowable)
    for taskrun in below:
        if taskrun.id in index.by_id and plan.places[taskrun.taskId].branch == "errors":
            _drop(run, taskrun, result)
    return [*_reopen(plan, run, [tr for tr in below if tr.id in index.by_id], result, now, start_attempt), flowable.id]


def _descendants(run: ExecutionRun, taskrun: TaskRun) -> list[TaskRun]:
    out, stack = [], [taskrun.id]
    while stack:
        for stats in run.index.branches.get(stack.pop(), {}).values():
            for child_id in stats.ids:
                out.append(run.index.by_id[child_id])
                stack.append(child_id)
    return out


def _reopen(plan: FlowPlan, run: ExecutionRun, taskruns: list[TaskRun], result: StepResult, now: datetime, start_attempt: StartAttempt) -> list:
    """New attempts for the failed runnables among `taskruns`; their failed flowables run again."""
    index, dirty = run.index, []
    for taskrun in taskruns:
        if not taskrun.state.current.failed:
            continue
        task = plan.task(taskrun.taskId)
        if task.flowable:
            run.memo.pop(taskrun.id, None)
            index.set_state(taskrun, State.RUNNING, now)
            dirty.append(taskrun.id)
        else:
            taskrun.attempts.append(Attempt(state=StateInfo.new(State.CREATED, now)))
            index.set_state(taskrun, State.RESTARTED, now)
            dirty.extend(start_attempt(run, taskrun, taskrun.attempts[-1], result, now))
        result.changed.add(taskrun.id)
    return dirty


def _drop(run: ExecutionRun, taskrun: TaskRun, result: StepResult) -> None:
    for stats in run.index.branches.get(taskrun.id, {}).values():
        for child_id in list(stats.ids):
            _drop(run, run.index.by_id[child_id], result)
    run.index.remove(taskrun)
    result.removed.add(taskrun.id)
    result.changed.discard(taskrun.id)


def replay(engine: HasPlan, execution: Execution, from_taskrun_id: str, new_id: str, now: datetime) -> Execution:
    """A new execution that keeps what ran before `from_taskrun_id` and runs the rest again."""
    runs = {tr.id: tr for tr in execution.taskRunList}
    chosen = runs.get(from_taskrun_id)
    if chosen is None:
        raise ReplayError(f"execution {execution.id} has no task run {from_taskrun_id!r}")
    ancestors = set()
    parent = chosen.parentTaskRunId
    while parent is not None:
        ancestors.add(parent)
        parent = runs[parent].parentTaskRunId
    position = execution.taskRunList.index(chosen)
    kept_ids = set(ancestors)
    for tr in execution.taskRunList[:position]:
        if tr.state.current in _KEPT and (tr.parentTaskRunId is None or tr.parentTaskRunId in kept_ids) \
                and engine.plan.places[tr.taskId].branch != "errors":
            kept_ids.add(tr.id)
    new_ids: dict[str, str] = {}
    copied: list[TaskRun] = []
    for tr in execution.taskRunList:  # parents come before their children
        if tr.id not in kept_ids:
            continue
        parent_id = new_ids.get(tr.parentTaskRunId) if tr.parentTaskRunId else None
        key = tr.value if tr.iteration is None else f"{tr.iteration}:{tr.value}"
        new_ids[tr.id] = taskrun_id(new_id, parent_id, tr.taskId, key)
        copy = tr.model_copy(deep=True, update={"id": new_ids[tr.id], "parentTaskRunId": parent_id})
        if tr.id in ancestors:
            copy.state.to(State.RUNNING, now)
            copy.outputs = None
        copied.append(copy)
    state = StateInfo.new(State.CREATED, now)
    return execution.model_copy(deep=True, update={
        "id": new_id, "state": state, "taskRunList": copied, "outputs": None, "error": None,
        "originalId": execution.originalId or execution.id,
    })
