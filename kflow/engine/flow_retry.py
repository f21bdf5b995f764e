"""Kestra's flow-level `retry`: a failed execution is retried as a whole.

RETRY_FAILED_TASK: instead of ending FAILED the execution waits RETRYING for the policy's delay,
then its failed task runs get new attempts as a restart gives them (the `errors` runs are
dropped), in the same execution. Tries are counted from the execution's own state history (one
RETRYING per retry), so a shell that reloads an execution computes the same due time.

CREATE_NEW_EXECUTION: the execution ends RETRIED and the shell creates a new one (same flow,
inputs and labels) whose `metadata.attemptNumber` is one more and whose `scheduleDate` is the
policy's due time: it waits CREATED until then (`start` below), in the engine.
"""

from __future__ import annotations

from datetime import datetime

from kflow.engine.events import RetryExecution
from kflow.engine.retry import next_attempt_at
from kflow.execution import Execution, State
from kflow.flow.model import Flow


def _tries(execution: Execution) -> int:
    """How many times the execution ran to a failure: the first run and each retry."""
    return 1 + sum(1 for entry in execution.state.histories if entry.state == State.RETRYING)


def new_execution_due(flow: Flow, execution: Execution, now: datetime) -> RetryExecution | None:
    """CREATE_NEW_EXECUTION: the new try to create, or None when the retries are spent."""
    retry = flow.retry
    if retry is None or retry.behavior != "CREATE_NEW_EXECUTION":
        return None
    metadata = execution.metadata
    number = metadata.attemptNumber if metadata else 1
    first = (metadata.originalCreatedDate if metadata else None) or execution.state.start_date or now
    at = next_attempt_at(retry, number, first, now, f"{first.isoformat()}:{flow.namespace}.{flow.id}")
    return RetryExecution(at, number + 1, first) if at is not None else None


def retry_due(flow: Flow, execution: Execution, now: datetime) -> datetime | None:
    """When a failing execution runs again under the flow's retry; None: it ends FAILED."""
    retry = flow.retry
    if retry is None or retry.behavior != "RETRY_FAILED_TASK":
        return None
    return next_attempt_at(retry, _tries(execution), execution.state.start_date or now, now, execution.id)


def waiting_until(flow: Flow, execution: Execution) -> datetime | None:
    """The due time of a RETRYING execution, recomputed from when it started waiting."""
    since = execution.state.date_of(State.RETRYING)
    if since is None or flow.retry is None:
        return None
    return next_attempt_at(flow.retry, _tries(execution) - 1, execution.state.start_date or since, since, execution.id) or since
