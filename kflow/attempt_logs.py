"""Where an execution's attempt logs are, for Kestra's log Fetch task, which the engine resolves.

Runners never reach logs but their own, so the shell that runs the engine gives each execution
an `AttemptLogs`: `kflow run` the runners' copies in internal storage
(kflow.storage.attempt_logs), the operator the task pods, their ConfigMap copies, then storage
(kflow.operator.attempt_logs). The contract only: no I/O here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kflow.execution import Execution, TaskRun


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
