"""Where an execution's attempt logs are, for the engine's readers of them (the log Fetch task,
errorLogs()), and how a log's lines read.

Runners never reach logs but their own, so the shell that runs the engine gives each execution
an `AttemptLogs`: `kflow run` the runners' copies in internal storage
(kflow.storage.attempt_logs), the operator the task pods, their ConfigMap copies, then storage
(kflow.operator.attempt_logs). Here the contract, and the bounded reading and parsing both
readers share: no I/O but through the `AttemptLogs` given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kflow.execution import Execution, TaskRun

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
# A runner's line: `<instant> <LEVEL padded to 5> <message>` (kflow.runner.context.TaskLogger).
_LINE = re.compile(r"(?P<ts>\d{4}-\d\d-\d\dT\S+) (?P<level>TRACE|DEBUG|INFO |WARN |ERROR) (?P<message>.*)")


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


@dataclass(frozen=True)
class LogRow:
    timestamp: str | None
    level: str
    message: str


def parse_line(line: str) -> LogRow:
    """One log line as Kestra's level and message; a line not from the logger (a script's own
    output, the `… bytes omitted …` marker of a bounded copy) is INFO with no timestamp."""
    match = _LINE.fullmatch(line)
    if match is None:
        return LogRow(None, "INFO", line)
    return LogRow(match["ts"], match["level"].strip(), match["message"])


@dataclass(frozen=True)
class AttemptRows:
    """One attempt's log as rows; `cut`: the byte bound cut it at its last whole line, or left it unread."""

    taskrun: TaskRun
    attempt: int
    rows: list[LogRow]
    cut: bool


def read_attempts(execution: Execution, logs: AttemptLogs, max_bytes: int,
                  skip: Callable[[TaskRun], bool] = lambda taskrun: False) -> Iterator[AttemptRows]:
    """Each attempt's log, parsed (task runs in creation order, attempts in order), reading at
    most `max_bytes` in all: lazily, so a reader that stops early reads no more."""
    budget = max_bytes
    for taskrun in execution.taskRunList:
        if skip(taskrun):
            continue
        for attempt in range(len(taskrun.attempts)):
            if budget <= 0:
                yield AttemptRows(taskrun, attempt, [], True)
                continue
            data = logs.read(execution, taskrun, attempt, budget + 1) or b""
            cut = len(data) > budget
            if cut:  # keep its whole lines only
                data = data[:budget].rpartition(b"\n")[0]
            budget = 0 if cut else budget - len(data)
            rows = [parse_line(line) for line in data.decode("utf-8", "replace").splitlines()]
            yield AttemptRows(taskrun, attempt, rows, cut)


def log_entry(execution: Execution, taskrun: TaskRun, attempt: int, timestamp: Any, level: str, message: str) -> dict[str, Any]:
    """A log line with Kestra's LogEntry fields."""
    return {"namespace": execution.namespace, "flowId": execution.flowId, "taskId": taskrun.taskId,
            "executionId": execution.id, "taskRunId": taskrun.id, "attemptNumber": attempt,
            "timestamp": timestamp, "level": level, "message": message}
