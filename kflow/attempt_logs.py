"""Where an execution's attempt logs are, for Kestra's log Fetch task, which the engine resolves.

Runners never reach logs but their own, so the shell that runs the engine gives each execution
an `AttemptLogs`: `kflow run` the runners' copies in internal storage (`StoredAttemptLogs`), the
operator the task pods, their ConfigMap copies, then storage (kflow.operator.attempt_logs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kflow.execution import Execution, TaskRun
    from kflow.storage import Storage


class NoLogStorage(ValueError):
    """Fetch's `uri` output is a file in internal storage, and there is none."""


class AttemptLogs(Protocol):
    """One execution's attempt logs, read at most `limit` bytes at a time, and where Fetch writes."""

    def read(self, execution: Execution, taskrun: TaskRun, attempt: int, limit: int) -> bytes | None:
        """The first `limit` bytes of the attempt's log; None when it has none (never ran, not kept)."""
        ...

    def store(self, data: bytes, uri: str) -> None:
        """Write Fetch's file; NoLogStorage when there is no internal storage."""
        ...


def attempt_log_uri(execution: Execution, taskrun: TaskRun, attempt: int) -> str:
    """Where the runner kept the attempt's log (TaskLocation.log_uri)."""
    from kflow.runner.context import TaskLocation

    return TaskLocation(execution.namespace, execution.flowId, execution.id, taskrun.taskId, taskrun.id).log_uri(attempt)


class StoredAttemptLogs:
    """The logs runners kept in internal storage (None: no storage configured)."""

    def __init__(self, storage: Storage | None):
        self.storage = storage

    def read(self, execution: Execution, taskrun: TaskRun, attempt: int, limit: int) -> bytes | None:
        from kflow.storage.base import StorageError

        if self.storage is None:
            return None
        try:
            with self.storage.open(attempt_log_uri(execution, taskrun, attempt)) as source:
                return source.read(limit)
        except (StorageError, OSError):
            return None

    def store(self, data: bytes, uri: str) -> None:
        if self.storage is None:
            raise NoLogStorage("no internal storage is configured, and the `uri` output is a file there "
                               "(set storage in the Helm values, or KFLOW_STORAGE)")
        self.storage.put_bytes(data, uri)
