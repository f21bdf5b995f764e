"""Subflow tasks on a cluster: each attempt is a child Execution resource of the child flow.

The child is named after the parent and the attempt, so after an operator crash the same
step finds it instead of creating a second. Its end comes back to the parent's engine as
the Subflow attempt's end, with outputs {executionId, state, outputs}.
"""

from __future__ import annotations

from typing import Any

from kflow.engine import AttemptEnded, Engine, ExecutionRun, KillTask, StartSubflow
from kflow.engine.ids import subflow_execution_id
from kflow.execution import State
from kflow.operator.kube import NotFound
from kflow.operator.names import _digest, _slug, label_value
from kflow.operator.resources import API_VERSION

LABEL_PARENT = "kflow.io/parent-execution"
ANNOTATION_PARENT_TASKRUN = "kflow.io/parent-taskrun"  # "<task run id>/<attempt>"


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
            "annotations": {ANNOTATION_PARENT_TASKRUN: f"{action.taskrun_id}/{action.attempt}"},
            # Deleting the parent deletes its children; not a controller reference (pods have that).
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": "Execution", "name": parent_meta["name"], "uid": parent_meta["uid"]}],
        },
        "spec": {"flowRef": {"name": flow_name}, "inputs": action.inputs, "labels": action.labels},
    }


def parent_of(body: dict[str, Any]) -> tuple[str, str, int] | None:
    """(parent execution name, task run id, attempt) of a child Execution, else None."""
    meta = body.get("metadata") or {}
    note = (meta.get("annotations") or {}).get(ANNOTATION_PARENT_TASKRUN)
    owner = next((ref["name"] for ref in meta.get("ownerReferences") or [] if ref.get("kind") == "Execution"), None)
    if not note or owner is None:
        return None
    taskrun_id, _, attempt = note.rpartition("/")
    return owner, taskrun_id, int(attempt)


def child_outcome(body: dict[str, Any]) -> AttemptEnded | None:
    """The Subflow attempt's end once the child Execution ended; None while it runs."""
    parent = parent_of(body)
    status = body.get("status") or {}
    current = status.get("current")
    if parent is None or not current or not State(current).terminal:
        return None
    _, taskrun_id, attempt = parent
    final = State(current)
    outputs = {"executionId": status.get("id"), "state": final.value, "outputs": status.get("outputs") or {}}
    if final in (State.SUCCESS, State.WARNING):
        return AttemptEnded(taskrun_id, attempt, final, outputs)
    why = status.get("error") or f"it ended {final.value}"
    return AttemptEnded(taskrun_id, attempt, State.FAILED, outputs, f"subflow execution {body['metadata']['name']}: {why}")


def parent_outcome(body: dict[str, Any]) -> tuple[tuple[str, str], AttemptEnded] | None:
    """(parent's key, its Subflow attempt's end) once a child Execution ended; None otherwise."""
    outcome = child_outcome(body)
    if outcome is None:
        return None
    return (body["metadata"]["namespace"], parent_of(body)[0]), outcome


def no_flow(task_id: str, namespace: str, flow_id: str, k8s_namespace: str) -> str:
    return (f"task {task_id!r}: no Flow of namespace {namespace!r} and id {flow_id!r} in Kubernetes namespace "
            f"{k8s_namespace!r}; apply it first")


class SubflowLinks:
    """The API calls behind a parent's Subflow attempts; each returns the attempt ends it learnt."""

    def __init__(self, api: Any):
        self.api = api

    async def start(self, parent_meta: dict[str, Any], action: StartSubflow) -> AttemptEnded | None:
        """Create the child Execution (or adopt it: made before a crash); an end already known, else None."""
        namespace = parent_meta["namespace"]
        flow_name = find_flow(await self.api.list_flows(namespace), action.namespace, action.flow_id)
        if flow_name is None:
            return AttemptEnded(action.taskrun_id, action.attempt, State.FAILED, reason=no_flow(action.task_id, action.namespace, action.flow_id, namespace))
        manifest = child_manifest(parent_meta, action, flow_name)
        await self.api.create_execution(namespace, manifest)  # False: made before a crash, adopted
        if not action.wait:
            return AttemptEnded(action.taskrun_id, action.attempt, State.SUCCESS, {"executionId": manifest["metadata"]["name"]})
        try:  # it may have ended while no one watched
            return child_outcome(await self.api.get_execution(namespace, manifest["metadata"]["name"]))
        except NotFound:
            return None

    async def observe(self, key: tuple[str, str], engine: Engine, run: ExecutionRun) -> list[AttemptEnded]:
        """After a load: did a running Subflow's child end while we were away?"""
        events = []
        for taskrun_id in list(run.index.running_runnables):
            taskrun = run.taskrun(taskrun_id)
            task = engine.plan.task(taskrun.taskId)
            if not task.starts_execution or taskrun.state.current != State.RUNNING:
                continue
            attempt = len(taskrun.attempts) - 1
            name = child_name(key[1], task.id, subflow_execution_id(run.execution.id, taskrun_id, attempt))
            try:
                outcome = child_outcome(await self.api.get_execution(key[0], name))
            except NotFound:  # never made (its flow is missing), or deleted since
                reason = f"its child execution {name} is gone (deleted?)"
                if find_flow(await self.api.list_flows(key[0]), task.namespace, task.flowId) is None:
                    reason = no_flow(task.id, task.namespace, task.flowId, key[0])
                outcome = AttemptEnded(taskrun_id, attempt, State.FAILED, reason=reason)
            if outcome is not None:
                events.append(outcome)
        return events

    async def kill(self, key: tuple[str, str], run: ExecutionRun, action: KillTask) -> AttemptEnded | None:
        """Ask the child to stop; its end comes back as the attempt's. Gone already: KILLED now."""
        taskrun = run.taskrun(action.taskrun_id)
        name = child_name(key[1], taskrun.taskId, subflow_execution_id(run.execution.id, action.taskrun_id, action.attempt))
        try:
            await self.api.patch_execution(key[0], name, {"spec": {"kill": True}})
        except NotFound:
            return AttemptEnded(action.taskrun_id, action.attempt, State.KILLED)
        return None
