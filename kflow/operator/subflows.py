"""Subflow tasks on a cluster: each attempt is a child Execution resource of the child flow.

The child is named after the parent and the attempt, so after an operator crash the same
step finds it instead of creating a second. Its end comes back to the parent's engine as
the Subflow attempt's end, with outputs {executionId, state, outputs}.
"""

from __future__ import annotations

from typing import Any

from kflow.engine import AttemptEnded, StartSubflow
from kflow.engine.batches import batch_execution_id, waiting_children
from kflow.engine.ids import subflow_execution_id
from kflow.execution import State, TaskRun
from kflow.flow.task import Task
from kflow.operator.names import _digest, _slug, label_value
from kflow.operator.resources import API_VERSION
from kflow.tasks.subflow import with_task_outputs  # noqa: F401 - the controller applies a parent's Subflow `outputs` with it

LABEL_PARENT = "kflow.io/parent-execution"
ANNOTATION_PARENT_TASKRUN = "kflow.io/parent-taskrun"  # "<task run id>/<attempt>", "/<batch>" for a ForEachItem batch


def child_name(parent_name: str, task_id: str, child_execution_id: str) -> str:
    return f"{_slug(parent_name, 30)}-{_slug(task_id, 20)}-{_digest(child_execution_id, 10)}"


def find_flow(flows: list[dict[str, Any]], namespace: str, flow_id: str) -> str | None:
    """The name of the Flow resource holding Kestra flow namespace.flow_id, if any."""
    for body in flows:
        spec = body.get("spec") or {}
        if spec.get("namespace") == namespace and (spec.get("id") or body["metadata"]["name"]) == flow_id:
            return body["metadata"]["name"]
    return None


def child_manifest(parent_meta: dict[str, Any], action: StartSubflow, flow_name: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {
            "name": child_name(parent_meta["name"], action.task_id, action.execution_id),
            "namespace": parent_meta["namespace"],
            "labels": {LABEL_PARENT: label_value(parent_meta["name"])},
            "annotations": {ANNOTATION_PARENT_TASKRUN: f"{action.taskrun_id}/{action.attempt}" + ("" if action.iteration is None else f"/{action.iteration}")},
            # Deleting the parent deletes its children; not a controller reference (pods have that).
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": "Execution", "name": parent_meta["name"], "uid": parent_meta["uid"]}],
        },
        "spec": {"flowRef": {"name": flow_name}, "inputs": action.inputs, "labels": action.labels,
                 **({"outputs": action.outputs} if action.outputs else {})},
    }


def parent_of(body: dict[str, Any]) -> tuple[str, str, int, int | None] | None:
    """(parent execution name, task run id, attempt, ForEachItem batch or None) of a child Execution, else None."""
    meta = body.get("metadata") or {}
    note = (meta.get("annotations") or {}).get(ANNOTATION_PARENT_TASKRUN)
    owner = next((ref["name"] for ref in meta.get("ownerReferences") or [] if ref.get("kind") == "Execution"), None)
    if not note or owner is None:
        return None
    taskrun_id, attempt, *batch = note.split("/")
    return owner, taskrun_id, int(attempt), int(batch[0]) if batch else None


def child_outcome(body: dict[str, Any]) -> AttemptEnded | None:
    """The Subflow attempt's end once the child Execution ended; None while it runs."""
    parent = parent_of(body)
    status = body.get("status") or {}
    current = status.get("current")
    if parent is None or not current or not State(current).terminal:
        return None
    _, taskrun_id, attempt, iteration = parent
    final = State(current)
    outputs = {"executionId": status.get("id"), "state": final.value, "outputs": status.get("outputs") or {}}
    if final in (State.SUCCESS, State.WARNING):
        return AttemptEnded(taskrun_id, attempt, final, outputs, iteration=iteration)
    why = status.get("error") or f"it ended {final.value}"
    return AttemptEnded(taskrun_id, attempt, State.FAILED, outputs, f"subflow execution {body['metadata']['name']}: {why}", iteration=iteration)


def running_children(execution_id: str, taskrun: TaskRun, task: Task) -> list[tuple[str, int | None]]:
    """(child execution id, batch) of each child of a running Subflow attempt not known to have ended:
    one for a Subflow, one per batch still running for ForEachItem's items task."""
    attempt = len(taskrun.attempts) - 1
    if getattr(task, "starts_batches", False):
        return [(batch_execution_id(execution_id, taskrun.id, attempt, i), i) for i in waiting_children(taskrun)]
    return [(subflow_execution_id(execution_id, taskrun.id, attempt), None)]
