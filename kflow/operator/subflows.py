"""Subflow tasks on a cluster: each attempt is a child Execution resource of the child flow.

The child is named after the parent and the attempt, so after an operator crash the same
step finds it instead of creating a second. Its end comes back to the parent's engine as
the Subflow attempt's end, with outputs {executionId, state, outputs}.
"""

from __future__ import annotations

from typing import Any

from kflow.engine import AttemptEnded, Engine, ExecutionRun, KillTask, StartSubflow
from kflow.engine.batches import batch_execution_id
from kflow.engine.ids import subflow_execution_id
from kflow.execution import State, TaskRun
from kflow.flow import FlowError
from kflow.flow.task import Task
from kflow.operator import secret_inputs
from kflow.operator.flows import flow_from_resource
from kflow.operator.kube import NotFound
from kflow.operator.names import _digest, _slug, label_value
from kflow.operator.resources import API_VERSION

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
    batches = task.waiting_batches(taskrun)
    if batches is not None:
        return [(batch_execution_id(execution_id, taskrun.id, attempt, i), i) for i in batches]
    return [(subflow_execution_id(execution_id, taskrun.id, attempt), None)]


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
    """The API calls behind a parent's Subflow attempts; each returns the attempt ends it learnt.

    A ForEachItem's items task has several children per attempt (one per batch): their ends
    carry the batch as `iteration`."""

    def __init__(self, api: Any):
        self.api = api

    async def start(self, parent_meta: dict[str, Any], action: StartSubflow) -> AttemptEnded | None:
        """Create the child Execution (or adopt it: made before a crash); an end already known, else None."""
        namespace = parent_meta["namespace"]
        flow_name = find_flow(await self.api.list_flows(namespace), action.namespace, action.flow_id)
        if flow_name is None:
            return AttemptEnded(action.taskrun_id, action.attempt, State.FAILED, iteration=action.iteration,
                                reason=no_flow(action.task_id, action.namespace, action.flow_id, namespace))
        manifest = child_manifest(parent_meta, action, flow_name)
        await self._store_secrets(parent_meta, manifest)
        await self.api.create_execution(namespace, manifest)  # False: made before a crash, adopted
        if not action.wait:
            return AttemptEnded(action.taskrun_id, action.attempt, State.SUCCESS, {"executionId": manifest["metadata"]["name"]}, iteration=action.iteration)
        try:  # it may have ended while no one watched
            return child_outcome(await self.api.get_execution(namespace, manifest["metadata"]["name"]))
        except NotFound:
            return None

    async def observe(self, key: tuple[str, str], engine: Engine, run: ExecutionRun) -> list[AttemptEnded]:
        """After a load: did a running Subflow's child (a ForEachItem: each batch's) end while we were away?"""
        events = []
        for taskrun_id in list(run.index.running_runnables):
            taskrun = run.taskrun(taskrun_id)
            task = engine.plan.task(taskrun.taskId)
            if not task.starts_execution or taskrun.state.current != State.RUNNING:
                continue
            attempt = len(taskrun.attempts) - 1
            for child_id, iteration in running_children(run.execution.id, taskrun, task):
                name = child_name(key[1], task.id, child_id)
                try:
                    outcome = child_outcome(await self.api.get_execution(key[0], name))
                except NotFound:  # never made (its flow is missing), or deleted since
                    reason = f"its child execution {name} is gone (deleted?)"
                    if find_flow(await self.api.list_flows(key[0]), task.namespace, task.flowId) is None:
                        reason = no_flow(task.id, task.namespace, task.flowId, key[0])
                    outcome = AttemptEnded(taskrun_id, attempt, State.FAILED, reason=reason, iteration=iteration)
                if outcome is not None:
                    events.append(outcome)
        return events

    async def kill(self, key: tuple[str, str], engine: Engine, run: ExecutionRun, action: KillTask) -> list[AttemptEnded]:
        """Ask each running child to stop; their ends come back as the attempt's. Gone already: KILLED now."""
        taskrun = run.taskrun(action.taskrun_id)
        ends = []
        for child_id, iteration in running_children(run.execution.id, taskrun, engine.plan.task(taskrun.taskId)):
            try:
                await self.api.patch_execution(key[0], child_name(key[1], taskrun.taskId, child_id), {"spec": {"kill": True}})
            except NotFound:
                ends.append(AttemptEnded(action.taskrun_id, action.attempt, State.KILLED, iteration=iteration))
        return ends

    async def _store_secrets(self, parent_meta: dict[str, Any], manifest: dict[str, Any]) -> None:
        """A child's SECRET inputs go into a Secret owned by the parent (which owns the child);
        its spec.inputs then reference them (secret_inputs.py)."""
        if not manifest["spec"]["inputs"]:
            return
        namespace = parent_meta["namespace"]
        try:
            ids = secret_inputs.secret_ids(flow_from_resource(await self.api.get_flow(namespace, manifest["spec"]["flowRef"]["name"])))
        except (FlowError, NotFound):  # the child fails to start on its own, naming why
            return
        owner = {"apiVersion": API_VERSION, "metadata": parent_meta}
        manifest["spec"]["inputs"] = await secret_inputs.store_values(self.api, namespace, manifest["metadata"]["name"], manifest["spec"]["inputs"], ids, owner)
