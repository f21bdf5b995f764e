"""A chart with one bar per task instead of one per task run, for executions too big to draw run by run.

A ForEach over 5,000 values gives 5,000 bars: unreadable, and megabytes of SVG. Summed up by
task id (ids are unique in a flow), each bar spans its task's first start to its last end,
in the state its runs sum up to, and says how many runs it stands for. Pure, as `build_chart`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from kflow.execution import State
from kflow.execution.states import worst
from kflow.gantt.chart import Bar, Chart, Span

# A task with runs still going shows the most telling of their states; otherwise the worst end.
_LIVE_ORDER = (State.RUNNING, State.KILLING, State.RETRYING, State.PAUSED, State.RESTARTED, State.QUEUED, State.CREATED)


def rollup_state(states: Iterable[str | State]) -> State:
    """The one state that sums up several runs of a task."""
    found = {State(s) for s in states}
    for state in _LIVE_ORDER:
        if state in found:
            return state
    return worst(found) if found else State.CREATED


def aggregate_by_task(chart: Chart) -> Chart:
    """One bar per task id, in the order the chart first shows each task."""
    groups: dict[str, list[Bar]] = {}
    for bar in chart.bars:
        groups.setdefault(bar.task_id, []).append(bar)
    bars = []
    for task_id, found in groups.items():
        first = found[0]
        span = Span(rollup_state(b.state for b in found), min(b.start for b in found), max(b.end for b in found),
                    any(b.span.running for b in found))
        reason = next((b.reason for b in found if b.reason), None)
        bars.append(replace(first, taskrun_id=first.taskrun_id if len(found) == 1 else "", value=first.value if len(found) == 1 else None,
                            span=span, attempts=first.attempts if len(found) == 1 else (), reason=reason, runs=len(found)))
    return replace(chart, bars=tuple(bars))
