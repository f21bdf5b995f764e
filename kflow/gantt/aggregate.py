"""The one state that sums up several runs of a task: what a per-task bar (a Gantt of thousands of
runs) or a topology node shows. Pure."""

from __future__ import annotations

from typing import Iterable

from kflow.execution import State
from kflow.execution.states import worst

# A task with runs still going shows the most telling of their states; otherwise the worst end.
_LIVE_ORDER = (State.RUNNING, State.KILLING, State.RETRYING, State.PAUSED, State.RESTARTED, State.QUEUED, State.CREATED)


def rollup_state(states: Iterable[str | State]) -> State:
    """The one state that sums up several runs of a task."""
    found = {State(s) for s in states}
    for state in _LIVE_ORDER:
        if state in found:
            return state
    return worst(found) if found else State.CREATED
