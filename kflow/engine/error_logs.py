"""Kestra's errorLogs(): the execution's ERROR log entries, which an `errors` task reads.

Kestra lists the ERROR entries of the execution's logs, the first 25 by time. Here they are the
ERROR lines of the attempts' logs, read through the `AttemptLogs` the shell gave the execution
and parsed as the log Fetch task parses them (kflow.attempt_logs), plus, for a failed attempt
whose log does not say why (killed, timed out, OOMKilled, a pod that never started, a flowable),
its reason: Kestra's worker logs a failure's cause at ERROR, kflow's runner does too when it
is the one that fails, and the shell knows the rest. Bounded: at most MAX_BYTES of logs read
(past that, failed attempts give their reasons), the first MAX_ENTRIES entries oldest first,
each message cut at MAX_MESSAGE characters (the list goes to the runner in its invocation, a
pod's environment variable). With no logs given (unit tests, a shell without storage), the
failed attempts' reasons only.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from kflow.attempt_logs import log_entry, read_attempts

if TYPE_CHECKING:
    from kflow.attempt_logs import AttemptLogs
    from kflow.engine.index import ExecutionIndex
    from kflow.execution import TaskRun

MAX_ENTRIES = 25  # Kestra's own: the first 25 ERROR entries by timestamp
MAX_BYTES = 1024 * 1024
MAX_MESSAGE = 4096
_CUT = " … (cut)"


def error_logs(index: ExecutionIndex, logs: AttemptLogs | None, reader: TaskRun | None) -> list[dict[str, Any]]:
    """The execution's ERROR entries (Kestra's LogEntry fields), oldest first, at most MAX_ENTRIES;
    `reader` is the task run asking, whose own log is not read (it has not started)."""
    execution = index.execution
    found: list[dict[str, Any]] = []
    logged: dict[tuple[str, int], set[str]] = {}  # (task run, attempt) -> the ERROR messages its log has
    if logs is not None:

        def skip(taskrun: TaskRun) -> bool:  # flowables run no process: no log to read
            return (reader is not None and taskrun.id == reader.id) or index.plan.task(taskrun.taskId).flowable

        try:
            for log in read_attempts(execution, logs, MAX_BYTES, skip):
                for row in log.rows:
                    if row.level == "ERROR":
                        when = _instant(row.timestamp) or log.taskrun.attempts[log.attempt].state.end_date
                        found.append(log_entry(execution, log.taskrun, log.attempt, when, "ERROR", _bounded(row.message)))
                        logged.setdefault((log.taskrun.id, log.attempt), set()).add(row.message)
        except ValueError:
            pass  # a log the cluster would not give (kflow.operator.attempt_logs): the rest give their reasons
    for taskrun in execution.taskRunList:
        for number, attempt in enumerate(taskrun.attempts):
            reason = attempt.reason
            if attempt.state.current.failed and reason and reason.splitlines()[0] not in logged.get((taskrun.id, number), ()):
                found.append(log_entry(execution, taskrun, number, attempt.state.end_date, "ERROR", _bounded(reason)))
    start = execution.state.start_date or datetime.min.replace(tzinfo=timezone.utc)
    found.sort(key=lambda entry: entry["timestamp"] or start)
    return found[:MAX_ENTRIES]


def _instant(text: str | None) -> datetime | None:
    """A log line's instant (a runner writes UTC with a Z); None when it is not one."""
    try:
        when = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when


def _bounded(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE - len(_CUT)] + _CUT
