"""What the shells tell the engine (events) and what the engine asks of them (actions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kflow.execution import State
from kflow.runner.invocation import ChildResult


# -- events: observed by a shell -------------------------------------------------------------
@dataclass(frozen=True)
class AttemptEnded:
    """An attempt's process or pod ended. Reporting the same end twice is harmless."""

    taskrun_id: str
    attempt: int  # index into the task run's attempts, from 0
    state: State  # SUCCESS, WARNING, FAILED or KILLED
    outputs: dict[str, Any] | None = None
    reason: str | None = None
    # A WorkingDirectory's children as its runner ran them (in order; none after a failure):
    # the engine records one child task run for each.
    children: tuple[ChildResult, ...] | None = None
    iteration: int | None = None  # the batch whose child execution ended (ForEachItem's items task)


@dataclass(frozen=True)
class KillRequested:
    reason: str | None = None


@dataclass(frozen=True)
class ResumeRequested:
    """Resume every PAUSED task run (a user's `kflow resume`, or spec.resume raised).

    `inputs` answer the paused tasks' `onResume` inputs (Kestra's resume with inputs).
    """

    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RestartRequested:
    """Restart a FAILED or KILLED execution from its failed task runs."""


Event = AttemptEnded | KillRequested | ResumeRequested | RestartRequested


# -- actions: for a shell to carry out ------------------------------------------------------
@dataclass(frozen=True)
class RunTask:
    """Start attempt `attempt` of a runnable task run (a process, a pod)."""

    taskrun_id: str
    attempt: int
    task_id: str
    timeout: float | None = None  # seconds; the shell kills the attempt after it


@dataclass(frozen=True)
class StartSubflow:
    """Start attempt `attempt` of a Subflow task run: a child execution of another flow.

    The shell reports its end as an AttemptEnded with outputs {executionId, state, outputs};
    with `wait` false, as soon as the child exists.
    """

    taskrun_id: str
    attempt: int
    task_id: str
    execution_id: str  # deterministic: the same attempt always names the same child
    namespace: str
    flow_id: str
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    wait: bool = True
    outputs: dict[str, Any] | None = None  # the Subflow's own `outputs`, unrendered: the child renders them
    iteration: int | None = None  # ForEachItem: the batch; one attempt starts a child per batch


@dataclass(frozen=True)
class KillTask:
    taskrun_id: str
    attempt: int


@dataclass(frozen=True)
class WakeAt:
    """Call the engine again at this time (a retry is due)."""

    at: datetime


@dataclass(frozen=True)
class ExecutionEnded:
    state: State


@dataclass(frozen=True)
class RetryExecution:
    """The flow's retry (CREATE_NEW_EXECUTION): this execution ended RETRIED; create a new one of
    the same flow, inputs and labels, try `attempt_number`, not started before `at`."""

    at: datetime
    attempt_number: int
    original_created: datetime


Action = RunTask | StartSubflow | KillTask | WakeAt | ExecutionEnded | RetryExecution


@dataclass
class StepResult:
    actions: list[Action] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)  # ids of task runs created or changed
    removed: set[str] = field(default_factory=set)  # ids of task runs dropped (a restart's `errors` runs)
    execution_changed: bool = False
