"""The chart's model: one bar per task run, in tree order, on the execution's time axis.

Pure: `now` is given (the live view passes the clock), else it is the latest instant the
execution records, so the same execution always gives the same chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone

from kflow.execution import Execution, State, StateInfo, TaskRun


@dataclass(frozen=True)
class Span:
    """From `start` to `end`; `running` when `end` is only "now"."""

    state: State
    start: datetime
    end: datetime
    running: bool = False

    @property
    def seconds(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.0)


@dataclass(frozen=True)
class Bar:
    taskrun_id: str
    task_id: str
    value: str | None
    parent_id: str | None
    depth: int
    last_sibling: bool
    span: Span
    attempts: tuple[Span, ...] = ()
    reason: str | None = None
    runs: int = 1  # more than one: a bar standing for that many runs of its task (the UI's Gantt of a big execution)

    @property
    def label(self) -> str:
        return self.task_id + (f"[{self.value}]" if self.value is not None else "") + (f" ×{self.runs}" if self.runs > 1 else "")

    @property
    def state(self) -> State:
        return self.span.state

    @property
    def start(self) -> datetime:
        return self.span.start

    @property
    def end(self) -> datetime:
        return self.span.end


@dataclass(frozen=True)
class Chart:
    execution_id: str
    namespace: str
    flow_id: str
    span: Span
    bars: tuple[Bar, ...] = field(default_factory=tuple)
    error: str | None = None

    @property
    def start(self) -> datetime:
        return self.span.start

    @property
    def end(self) -> datetime:
        return self.span.end

    @cached_property
    def seconds(self) -> float:
        """The axis' length, never zero so positions can divide by it."""
        return max(self.span.seconds, 0.001)

    @cached_property
    def _start_ts(self) -> float:
        return self.start.timestamp()

    def offset(self, instant: datetime) -> float:
        """Where an instant falls on the axis, 0.0 to 1.0."""
        return min(max((instant.timestamp() - self._start_ts) / self.seconds, 0.0), 1.0)


def build_chart(execution: Execution, flow=None, now: datetime | None = None, order: dict[str, int] | None = None) -> Chart:
    """The bars of an execution's task runs, children under their parent, siblings in flow order."""
    if order is None:
        order = flow.task_order() if flow is not None else {}
    now = _utc(now) if now is not None else _latest(execution)
    runs = execution.taskRunList
    position = {tr.id: i for i, tr in enumerate(runs)}
    children: dict[str | None, list[TaskRun]] = {}
    for taskrun in runs:
        parent = taskrun.parentTaskRunId if taskrun.parentTaskRunId in position else None
        children.setdefault(parent, []).append(taskrun)
    exec_span = _span(execution.state, now, fallback=now)

    def key(tr: TaskRun):
        start = tr.state.start_date or exec_span.start
        return (order.get(tr.taskId, len(order)), tr.iteration or 0, _utc(start), position[tr.id])

    bars: list[Bar] = []
    stack: list[tuple[TaskRun, int, bool]] = [
        (tr, 0, i == 0) for i, tr in enumerate(reversed(sorted(children.get(None, []), key=key)))
    ]
    while stack:  # depth first, without recursion: deep trees are fine
        taskrun, depth, last = stack.pop()
        bars.append(_bar(taskrun, depth, last, now, exec_span.start))
        kids = sorted(children.get(taskrun.id, []), key=key)
        stack.extend((kid, depth + 1, i == 0) for i, kid in enumerate(reversed(kids)))
    start = min([exec_span.start, *(b.start for b in bars)])
    end = max([exec_span.end, *(b.end for b in bars)])
    axis = Span(exec_span.state, start, end, exec_span.running)
    return Chart(execution.id, execution.namespace, execution.flowId, axis, tuple(bars), execution.error)


def _bar(taskrun: TaskRun, depth: int, last: bool, now: datetime, default_start: datetime) -> Bar:
    attempts = tuple(_span(a.state, now, fallback=default_start) for a in taskrun.attempts)
    reason = next((a.reason for a in reversed(taskrun.attempts) if a.reason), None)
    return Bar(
        taskrun_id=taskrun.id,
        task_id=taskrun.taskId,
        value=taskrun.value,
        parent_id=taskrun.parentTaskRunId,
        depth=depth,
        last_sibling=last,
        span=_span(taskrun.state, now, fallback=default_start),
        attempts=attempts,
        reason=reason,
    )


def _span(state: StateInfo, now: datetime, fallback: datetime) -> Span:
    start = _utc(state.start_date) if state.start_date else fallback
    if state.current.terminal:
        end = _utc(state.end_date) if state.end_date else start
        return Span(state.current, start, max(end, start), running=False)
    return Span(state.current, start, max(now, start), running=True)


def _latest(execution: Execution) -> datetime:
    dates = [h.date for h in execution.state.histories]
    for taskrun in execution.taskRunList:
        dates.extend(h.date for h in taskrun.state.histories)
        for attempt in taskrun.attempts:
            dates.extend(h.date for h in attempt.state.histories)
    return max((_utc(d) for d in dates), default=datetime.fromtimestamp(0, timezone.utc))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
