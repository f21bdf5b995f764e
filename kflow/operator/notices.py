"""The Kubernetes Events the controller posts on an Execution: reason, message, type.

Pure: `kubectl describe execution` shows these, one per transition.
"""

from __future__ import annotations

from typing import NamedTuple

from kflow.execution import Execution, State, TaskRun
from kflow.masking import Masker


class Notice(NamedTuple):
    reason: str
    message: str
    type: str = "Normal"


def task_notice(taskrun: TaskRun, masker: Masker | None = None) -> Notice | None:
    """A task run changed state (CREATED is not worth an Event); SECRET input values masked (a loop value may be one)."""
    state = taskrun.state.current
    if state == State.CREATED:
        return None
    reason = taskrun.attempts[-1].reason if taskrun.attempts and state.failed else None
    message = f"task {taskrun.taskId}{f'[{taskrun.value}]' if taskrun.value else ''} {state.value}"
    if len(taskrun.attempts) > 1:
        message += f" (attempt {len(taskrun.attempts)})"
    if reason:
        message += f": {reason}"
    if masker:
        message = masker.mask(message)
    return Notice(f"Task{state.value.title()}", message, "Warning" if state.failed else "Normal")


def ended_notice(execution: Execution) -> Notice:
    final = execution.state.current
    return Notice(f"Execution{final.value.title()}", f"execution {execution.id} ended {final.value}", "Warning" if final.failed else "Normal")


def waiting_notice(task_id: str, why: str) -> Notice:
    return Notice("TaskWaiting", f"task {task_id}: {why}")
