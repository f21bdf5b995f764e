"""Flow `sla` in the engine: MAX_DURATION checked against the clock it is given (the shells
wake the engine at the deadline, no polling), EXECUTION_ASSERTION once the execution ends.

A violation adds the SLA's labels; FAIL and CANCEL end the execution at once, FAILED or
CANCELLED, its running task runs KILLED (their pods or processes are asked to stop), the
reason in the execution's `error`. Kestra checks an assertion at each change of the
execution; kflow checks it when the execution is about to end.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kflow.engine.events import ExecutionEnded, KillTask, StepResult
from kflow.engine.run import ExecutionRun
from kflow.execution import State
from kflow.flow.sla import SLA

_ENDS = {"FAIL": State.FAILED, "CANCEL": State.CANCELLED}


def deadline(sla: SLA, run: ExecutionRun) -> datetime | None:
    start = run.execution.state.date_of(State.RUNNING) or run.execution.state.start_date
    return start + timedelta(seconds=sla.seconds()) if start is not None else None


def next_deadline(slas: list[SLA], run: ExecutionRun, now: datetime) -> datetime | None:
    """The earliest MAX_DURATION deadline still ahead (the shell wakes the engine then)."""
    ahead = [d for s in slas if s.type == "MAX_DURATION" and (d := deadline(s, run)) is not None and d > now]
    return min(ahead, default=None)


def overdue(slas: list[SLA], run: ExecutionRun, now: datetime) -> list[tuple[SLA, str]]:
    """The MAX_DURATION SLAs past their deadline, with why."""
    out = []
    for sla in slas:
        if sla.type == "MAX_DURATION" and (due := deadline(sla, run)) is not None and due <= now:
            out.append((sla, f"SLA {sla.id!r} violated: the execution ran longer than {sla.duration}"))
    return out


def failed_assertions(slas: list[SLA], context: dict[str, Any]) -> list[tuple[SLA, str]]:
    """The EXECUTION_ASSERTION SLAs whose `assert` is not truthy (or cannot be rendered)."""
    from kflow.expr import ExpressionError, render

    out = []
    for sla in slas:
        if sla.type != "EXECUTION_ASSERTION":
            continue
        try:
            value = render(sla.assert_, context).strip().lower()
        except ExpressionError as err:
            out.append((sla, f"SLA {sla.id!r} violated: its assert cannot be rendered: {err}"))
            continue
        if value in ("false", "0", "", "null", "none"):
            out.append((sla, f"SLA {sla.id!r} violated: assertion is false: {sla.assert_}"))
    return out


def violate(run: ExecutionRun, violations: list[tuple[SLA, str]], result: StepResult) -> State | None:
    """Add the violated SLAs' labels; the state the first FAIL/CANCEL one ends the execution in."""
    execution, end = run.execution, None
    for sla, reason in violations:
        merged = {**execution.labels, **sla.labels}
        if merged != execution.labels:
            execution.labels = merged
            result.execution_changed = True
        if end is None and sla.behavior in _ENDS:
            end = _ENDS[sla.behavior]
            execution.error = reason
            result.execution_changed = True
    return end


def end_now(run: ExecutionRun, state: State, result: StepResult, now: datetime) -> None:
    """End the execution in `state` now: every running task run KILLED, its attempt asked to stop."""
    index = run.index
    for taskrun_id in [*index.running_runnables, *index.running_flowables, *index.paused]:
        taskrun = index.by_id[taskrun_id]
        if taskrun.state.current.terminal:
            continue
        attempt = taskrun.attempts[-1] if taskrun.attempts else None
        if attempt is not None and attempt.state.current == State.RUNNING:
            result.actions.append(KillTask(taskrun.id, len(taskrun.attempts) - 1))
            attempt.state.to(State.KILLED, now)
        elif attempt is not None and not attempt.state.current.terminal:
            attempt.state.to(State.KILLED, now)
        index.set_state(taskrun, State.KILLED, now)
        result.changed.add(taskrun.id)
    run.execution.state.to(state, now)
    result.execution_changed = True
    result.actions.append(ExecutionEnded(state))
