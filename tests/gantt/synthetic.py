"""Executions made by hand, with exact instants, for the Gantt chart's pure tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kflow.execution import Attempt, Execution, StateHistory, StateInfo, TaskRun

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def state(*steps: tuple[str, float]) -> StateInfo:
    """`state(("CREATED", 0), ("RUNNING", 1), ("SUCCESS", 3))`: a state and its history."""
    return StateInfo(current=steps[-1][0], histories=[StateHistory(state=s, date=at(t)) for s, t in steps])


def ran(start: float, end: float | None, final: str = "SUCCESS") -> StateInfo:
    """Created and running at `start`, `final` at `end` (still RUNNING when `end` is None)."""
    steps = [("CREATED", start), ("RUNNING", start)]
    return state(*steps, *([(final, end)] if end is not None else []))


def taskrun(id: str, task: str, span: StateInfo, parent: str | None = None, value: str | None = None,
            attempts: list[StateInfo] | None = None, reason: str | None = None, iteration: int | None = None) -> TaskRun:
    tries = [Attempt(state=a) for a in (attempts or [])]
    if reason and tries:
        tries[-1].reason = reason
    return TaskRun(id=id, taskId=task, parentTaskRunId=parent, value=value, iteration=iteration, state=span, attempts=tries)


def execution(runs: list[TaskRun], span: StateInfo | None = None, flow: str = "demo") -> Execution:
    if span is None:
        end = max(h.date for tr in runs for h in tr.state.histories)
        final = "RUNNING" if any(not tr.state.current.terminal for tr in runs) else "SUCCESS"
        steps = [("CREATED", 0.0), ("RUNNING", 0.0)] + ([] if final == "RUNNING" else [(final, (end - T0).total_seconds())])
        span = state(*steps)
    return Execution(id="exec1", namespace="company.team", flowId=flow, state=span, taskRunList=runs)


def parallel_then_sequential() -> Execution:
    """A Parallel of two tasks (overlapping), then a task after it: the getting-started shape."""
    return execution([
        taskrun("p", "parallel", ran(0, 4)),
        taskrun("a", "task1", ran(0.1, 3), parent="p", attempts=[ran(0.5, 3)]),
        taskrun("b", "task2", ran(0.1, 4), parent="p", attempts=[ran(0.6, 4)]),
        taskrun("c", "after", ran(4, 6), attempts=[ran(4.2, 6)]),
    ])


def mixed_states() -> Execution:
    """One task run in each of the usual final states, one retried, and one still running."""
    return execution([
        taskrun("ok", "ok", ran(0, 1), attempts=[ran(0, 1)]),
        taskrun("warn", "warn", ran(1, 2, "WARNING"), attempts=[ran(1, 2, "WARNING")]),
        taskrun("bad", "bad", ran(2, 7, "FAILED"), attempts=[ran(2, 3, "FAILED"), ran(5, 7, "FAILED")], reason="exit code 3"),
        taskrun("gone", "gone", ran(3, 4, "KILLED"), attempts=[ran(3, 4, "KILLED")]),
        taskrun("skip", "skip", state(("CREATED", 4), ("SKIPPED", 4))),
        taskrun("run", "run", ran(5, None), attempts=[ran(5, None)]),
    ])
