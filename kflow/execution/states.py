"""Kestra's state names, and which of them are final."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    CREATED = "CREATED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RESTARTED = "RESTARTED"
    KILLING = "KILLING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CANCELLED = "CANCELLED"
    RETRYING = "RETRYING"
    RETRIED = "RETRIED"
    SKIPPED = "SKIPPED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def failed(self) -> bool:
        return self in FAILED_STATES


TERMINAL_STATES = frozenset(
    {
        State.SUCCESS,
        State.WARNING,
        State.FAILED,
        State.KILLED,
        State.CANCELLED,
        State.RETRIED,
        State.SKIPPED,
    }
)
FAILED_STATES = frozenset({State.FAILED, State.KILLED, State.CANCELLED})

# Which final state wins when a parent sums up its children, as Kestra's guessFinalState does.
_SEVERITY = {
    State.SKIPPED: 0,
    State.SUCCESS: 1,
    State.RETRIED: 1,
    State.WARNING: 2,
    State.CANCELLED: 3,
    State.FAILED: 4,
    State.KILLED: 5,
}


def worst(states) -> State:
    """The most severe of some final states; SUCCESS when there are none."""
    result = State.SUCCESS
    for state in states:
        if _SEVERITY.get(state, 1) > _SEVERITY.get(result, 1):
            result = state
    return result
