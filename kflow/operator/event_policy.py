"""Which Kubernetes Events the operator posts: what a user looks for in `kubectl describe`,
not one per task-run transition.

Every Event is an API write (and an etcd object for an hour): posting Started, TaskRunning,
TaskSuccess and ExecutionSuccess made Events half of the operator's writes per one-task
execution (bench/scale.py). The status already holds each task run's state and dates, so a
Normal transition is posted only when it says something the status does not show at a
glance: how an execution ended, a task's allowed failure, why it or a task waits, and a
trigger that stopped itself. Warnings (a task or an
execution failed, was killed, a trigger failed, a status was refused) are always posted.
"""

from __future__ import annotations

# Normal Events still posted; every other Normal reason (Started, TaskRunning, TaskSuccess,
# TaskSkipped, TaskRestarted, ...) is left to the status. TaskWarning is a failure allowed.
NORMAL_REASONS = frozenset({"ExecutionSuccess", "ExecutionWarning", "TaskWarning", "Queued", "TaskWaiting",
                            "TriggerStopped"})  # a trigger that stopped itself (stopAfter) starts nothing more


def worth_posting(reason: str, type_: str) -> bool:
    return type_ != "Normal" or reason in NORMAL_REASONS
