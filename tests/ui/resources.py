"""Flow and Execution resources as the operator stores them, made by hand for the UI's tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from kflow.execution.status import encode_chunk

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone.utc)

FLOW = {
    "id": "hello", "namespace": "company.team",
    "inputs": [{"id": "name", "type": "STRING"}, {"id": "count", "type": "INT", "defaults": 1, "min": 1},
               {"id": "mode", "type": "SELECT", "values": ["fast", "slow"], "required": False}],
    "tasks": [
        {"id": "loop", "type": "io.kestra.plugin.core.flow.ForEach", "values": "[1,2]",
         "tasks": [{"id": "say", "type": "io.kestra.plugin.core.log.Log", "message": "hi {{ taskrun.value }}"}]},
        {"id": "last", "type": "io.kestra.plugin.core.debug.Return", "format": "done"},
    ],
    "errors": [{"id": "alert", "type": "io.kestra.plugin.core.log.Log", "message": "failed"}],
}


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def flow(name: str = "hello", namespace: str = "team", spec: dict | None = None) -> dict[str, Any]:
    return {"apiVersion": "kflow.io/v1alpha1", "kind": "Flow", "metadata": {"name": name, "namespace": namespace},
            "spec": spec or FLOW, "status": {"revision": 1, "valid": "True", "conditions": [{"type": "Valid", "status": "True"}]}}


def state(*steps: tuple[str, float]) -> dict[str, Any]:
    return {"current": steps[-1][0], "histories": [{"state": s, "date": at(t)} for s, t in steps]}


def taskrun(id: str, task: str, final: str = "SUCCESS", start: float = 1, end: float = 2, parent: str | None = None,
            value: str | None = None, reason: str | None = None, attempts: int = 1) -> dict[str, Any]:
    steps = [("CREATED", start), ("RUNNING", start)] + ([(final, end)] if final not in ("RUNNING", "PAUSED") else [])
    if final == "PAUSED":
        steps = [("CREATED", start), ("PAUSED", start)]
    run = {"id": id, "taskId": task, "parentTaskRunId": parent, "value": value, "state": state(*steps),
           "attempts": [{"state": state(*steps)} for _ in range(attempts)], "outputs": {"value": f"out-{id}"} if final == "SUCCESS" else None}
    if reason:
        run["attempts"][-1]["reason"] = reason
    return {k: v for k, v in run.items() if v is not None}


def execution(name: str, final: str = "SUCCESS", runs: list[dict] | None = None, namespace: str = "team", flow_name: str = "hello",
              archived: list[list[dict]] | None = None, labels: dict | None = None, start: float = 0, error: str | None = None,
              spec: dict | None = None, created: str | None = None) -> dict[str, Any]:
    runs = runs if runs is not None else [taskrun("a", "last", final)]
    steps = [("CREATED", start), ("RUNNING", start)] + ([(final, start + 5)] if final not in ("RUNNING", "PAUSED", "CREATED") else [])
    if final == "PAUSED":
        steps = [("CREATED", start), ("RUNNING", start), ("PAUSED", start + 1)]
    status = {
        "id": f"id-{name}", "namespace": "company.team", "flowId": "hello", "flowRevision": 1, "state": state(*steps), "current": final,
        "inputs": {"name": "kflow"}, "labels": labels or {}, "progress": "1/1", "startDate": at(start), "flow": FLOW,
        "taskRuns": {r["id"]: r for r in runs},
    }
    if archived:
        status["archive"] = {str(i): encode_chunk(chunk) for i, chunk in enumerate(archived)}
    if error:
        status["error"] = error
    meta = {"name": name, "namespace": namespace}
    if created:
        meta["creationTimestamp"] = created
    return {"apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "metadata": meta,
            "spec": {"flowRef": {"name": flow_name}, "inputs": {"name": "kflow"}, **(spec or {})}, "status": status}
