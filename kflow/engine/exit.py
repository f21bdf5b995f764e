"""An Exit task asked the execution to end now: its parents and the execution take its state,
what still runs is stopped (KILLED), nothing else starts."""

from __future__ import annotations

from datetime import datetime

from kflow.engine.events import ExecutionEnded, KillTask, StepResult
from kflow.engine.run import ExecutionRun
from kflow.execution import State


def end_execution(run: ExecutionRun, state: State, exit_taskrun_id: str, result: StepResult, now: datetime) -> None:
    index, execution = run.index, run.execution
    parents = {parent.id for parent in index.parents(index.by_id[exit_taskrun_id])}
    for taskrun_id in list(index.running_runnables):
        taskrun = index.by_id[taskrun_id]
        number = len(taskrun.attempts) - 1
        if taskrun.state.current == State.RUNNING:
            result.actions.append(KillTask(taskrun_id, number))
        if taskrun.attempts and not taskrun.attempts[-1].state.current.terminal:
            taskrun.attempts[-1].state.to(State.KILLED, now)
        index.set_state(taskrun, State.KILLED, now)
        result.changed.add(taskrun_id)
    for taskrun_id in list(index.running_flowables):
        taskrun = index.by_id[taskrun_id]
        final = state if taskrun_id in parents else State.KILLED
        index.set_state(taskrun, final, now)
        result.changed.add(taskrun_id)
    execution.state.to(state, now)
    result.execution_changed = True
    result.actions.append(ExecutionEnded(state))
