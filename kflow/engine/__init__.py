"""The pure engine: flow + execution state + observations in, new state + actions out."""

from kflow.engine.engine import Engine
from kflow.engine.events import (
    Action,
    AttemptEnded,
    Event,
    ExecutionEnded,
    KillRequested,
    KillTask,
    RestartRequested,
    ResumeRequested,
    RetryExecution,
    RunTask,
    StartSubflow,
    StepResult,
    WakeAt,
)
from kflow.engine.ids import new_execution_id
from kflow.engine.run import ExecutionRun

__all__ = [
    "Action",
    "AttemptEnded",
    "Engine",
    "Event",
    "ExecutionEnded",
    "ExecutionRun",
    "KillRequested",
    "KillTask",
    "RestartRequested",
    "ResumeRequested",
    "RetryExecution",
    "RunTask",
    "StartSubflow",
    "StepResult",
    "WakeAt",
    "new_execution_id",
]
