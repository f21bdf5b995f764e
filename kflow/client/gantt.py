"""The Gantt chart of an Execution resource (`kflow gantt`, the web UI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kflow.client.inputs import UsageError


def chart_from_body(body: dict[str, Any], now: datetime | None = None):
    """The chart of an Execution resource, its task runs ordered by its flow snapshot."""
    from kflow.gantt import build_chart

    execution, order = execution_from_body(body)
    return build_chart(execution, now=now, order=order)


def execution_from_body(body: dict[str, Any]):
    """(Execution, each task's place in the flow) from an Execution resource's status."""
    from pydantic import ValidationError

    from kflow.execution.status import ExecutionStatus, flow_order

    name = (body.get("metadata") or {}).get("name", "?")
    status = ExecutionStatus.read(body.get("status"))
    if not status.id or not status.state:
        raise UsageError(f"execution {name} has not started yet (no status.state): is the operator running?")
    order = flow_order(status.flow)  # {} when it does not load: still a chart, siblings by start time
    try:
        return status.execution(order), order
    except ValidationError as err:
        raise UsageError(f"execution {name}: unexpected status: {err.errors()[0]['loc']}: {err.errors()[0]['msg']}") from None
