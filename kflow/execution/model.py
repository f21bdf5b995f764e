"""Execution, TaskRun and Attempt with Kestra's field names (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kflow.execution.states import State


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class StateHistory(_Data):
    state: State
    date: datetime


class StateInfo(_Data):
    """A state with the history of how it got there; `startDate` is the first entry's date."""

    current: State = State.CREATED
    histories: list[StateHistory] = Field(default_factory=list)

    @classmethod
    def new(cls, state: State, now: datetime) -> StateInfo:
        return cls(current=state, histories=[StateHistory(state=state, date=now)])

    def to(self, state: State, now: datetime) -> None:
        if state != self.current:
            self.current = state
            self.histories.append(StateHistory(state=state, date=now))

    @property
    def start_date(self) -> datetime | None:
        return self.histories[0].date if self.histories else None

    @property
    def end_date(self) -> datetime | None:
        return self.histories[-1].date if self.histories and self.current.terminal else None

    def date_of(self, state: State) -> datetime | None:
        for entry in reversed(self.histories):
            if entry.state == state:
                return entry.date
        return None


class Attempt(_Data):
    """One try of a runnable task run; a retry appends a new one."""

    state: StateInfo
    notBefore: datetime | None = Field(None, description="A retry attempt starts no earlier than this.")
    reason: str | None = Field(None, description="Why the attempt failed, in words a user can act on.")


class TaskRun(_Data):
    id: str
    taskId: str
    parentTaskRunId: str | None = None
    value: str | None = None
    iteration: int | None = None
    state: StateInfo
    attempts: list[Attempt] = Field(default_factory=list)
    outputs: dict[str, Any] | None = None


class ExecutionMetadata(_Data):
    """Kestra's execution metadata: which try of a flow-level CREATE_NEW_EXECUTION retry this is."""

    attemptNumber: int = 1
    originalCreatedDate: datetime | None = Field(None, description="When the first try was created (retry maxDuration counts from it).")


class Execution(_Data):
    id: str
    namespace: str
    flowId: str
    flowRevision: int | None = None
    state: StateInfo
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    variables: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    trigger: dict[str, Any] | None = None
    taskRunList: list[TaskRun] = Field(default_factory=list)
    parentId: str | None = None
    originalId: str | None = None
    error: str | None = Field(None, description="Why the execution failed outside any task run.")
    scheduleDate: datetime | None = Field(None, description="Not started before this instant (a flow retry's new execution waits its delay).")
    metadata: ExecutionMetadata | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
