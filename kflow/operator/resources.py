"""The custom resources' shapes: what users write (spec) and what the operator records (status).

`crds/` is generated from these models (python -m kflow.operator.crds), never by hand.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kflow.execution import Execution, TaskRun
from kflow.operator.status_archive import ArchiveError, taskruns_by_id  # noqa: F401 (ArchiveError: for callers)

GROUP = "kflow.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class FlowRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Name of the Flow resource, in the Execution's Kubernetes namespace.")


class ReplayRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution: str = Field(description="Name of the Execution to replay, in this Kubernetes namespace.")
    taskRunId: str = Field(description="The task run to replay from: it and what followed run again; what ran before is kept.")


class ExecutionSpec(BaseModel):
    """What a user asks for: run this flow with these inputs."""

    model_config = ConfigDict(extra="forbid")

    flowRef: FlowRef = Field(description="The Flow to run.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Values of the flow's inputs, by input id.")
    labels: dict[str, str] = Field(default_factory=dict, description="Kestra labels of this execution.")
    kill: bool = Field(False, description="Set to true to kill the execution: its pods are deleted, its state ends KILLED.")
    restart: int = Field(0, ge=0, description="Raise by one to restart a FAILED or KILLED execution from its failed task runs (earlier outputs are kept).")
    resume: int = Field(0, ge=0, description="Raise by one to resume the execution's PAUSED tasks.")
    resumeInputs: dict[str, Any] | None = Field(None, description="Values of the paused Pause tasks' `onResume` inputs, by input id, given with the resume (set it in the same patch that raises `resume`).")
    replay: ReplayRef | None = Field(None, description="Make this execution a replay of another one, from one of its task runs (flowRef is then that execution's flow).")
    trigger: dict[str, Any] | None = Field(None, description="Set by a Schedule or Flow trigger: what expressions see as `trigger.*` (date, next, previous; executionId, flowId, outputs ...).")


class Condition(BaseModel):
    type: str
    status: str = Field(description="True, False or Unknown.")
    reason: str | None = None
    message: str | None = None
    lastTransitionTime: str | None = None


class TriggerState(BaseModel):
    """What a Schedule trigger remembers, so a restarted operator catches up per recoverMissedSchedules."""

    lastDate: str | None = Field(None, description="The newest scheduled date handled (run, or skipped by the policy).")
    nextDate: str | None = Field(None, description="The next date an execution is due.")
    since: str | None = Field(None, description="When the operator first saw this trigger: dates before it never run.")


class FlowStatus(BaseModel):
    """The Flow as last validated."""

    revision: int | None = Field(None, description="The flow revision: its metadata.generation, unless the flow sets one.")
    observedGeneration: int | None = None
    valid: str | None = Field(None, description="True or False, for `kubectl get flows`.")
    conditions: list[Condition] = Field(default_factory=list)
    triggers: dict[str, TriggerState] | None = Field(None, description="Schedule triggers by id: the last date scheduled and the next one.")


class ExecutionStatus(BaseModel):
    """The Kestra execution (state, inputs, task runs with attempts and outputs) and a summary.

    `taskRuns` is keyed by task run id, so a status update carries only what changed.
    Finished task runs move in batches into the compressed chunks of `archive`: the object stays small.
    """

    model_config = ConfigDict(extra="forbid")

    step: int | None = Field(None, description="Engine steps recorded so far: the operator tells its own writes from others' by it.")
    id: str | None = Field(None, description="The Kestra execution id.")
    namespace: str | None = Field(None, description="Kestra's (dotted) namespace of the flow.")
    flowId: str | None = None
    flowRevision: int | None = None
    state: dict[str, Any] | None = Field(None, description="The execution's state: current and histories.")
    current: str | None = Field(None, description="The current state, for `kubectl get executions`.")
    inputs: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    error: str | None = Field(None, description="Why the execution failed before or outside its tasks.")
    originalId: str | None = Field(None, description="For a replay: the id of the execution it replays.")
    removed: list[str] | None = Field(None, description="Ids of task runs a restart dropped (its `errors` runs); readers skip them.")
    outputs: dict[str, Any] | None = Field(None, description="The flow's `outputs`, rendered when the execution succeeded.")
    progress: str | None = Field(None, description="Task runs done / created, for `kubectl get executions`.")
    startDate: str | None = None
    duration: str | None = Field(None, description="How long it ran, once it ended.")
    flow: dict[str, Any] | None = Field(None, description="The flow as it was when the execution started.")
    trigger: dict[str, Any] | None = Field(None, description="The trigger variables of spec.trigger, as the execution saw them.")
    restarted: int | None = Field(None, description="The spec.restart value last acted on.")
    resumed: int | None = Field(None, description="The spec.resume value last acted on.")
    taskRuns: dict[str, dict[str, Any]] | None = Field(None, description="Task runs by id: taskId, parentTaskRunId, value, state, attempts, outputs. Live ones and the latest finished ones; older finished ones are in `archive`.")
    archive: dict[str, str] | None = Field(
        None,
        description="Finished task runs moved out of `taskRuns`, in sealed chunks: chunk number -> base64 of gzip of a JSON list of task runs "
        "(`base64 -d | gunzip` reads one). A task run in `taskRuns` supersedes its archived copy; `kflow describe` shows them all.",
    )


def execution_from_status(status: dict[str, Any], order: dict[str, int]) -> Execution:
    """The engine's Execution from a stored status; task runs back in creation order.

    `order` is each task's place in the flow (FlowPlan.order): runs created in the same
    instant were created in that order.
    """
    runs = [TaskRun.model_validate(tr) for tr in taskruns_by_id(status).values()]
    runs.sort(key=lambda tr: _creation(tr.state.histories[0].date, tr.taskId, tr.iteration, order))
    data = {k: status[k] for k in ("id", "namespace", "flowId", "flowRevision", "state", "inputs", "labels", "error", "trigger", "originalId") if status.get(k) is not None}
    return Execution.model_validate({**data, "taskRunList": []}).model_copy(update={"taskRunList": runs})


def taskruns_from_status(status: dict[str, Any], order: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Every task run of a stored status as plain JSON, in creation order: `taskRuns` and `archive` decoded.

    What anything reading an Execution's task runs (CLI, gantt, tests) should use, since
    `status.taskRuns` alone holds only the live and latest ones. `order` defaults to the
    order of tasks in the status's flow snapshot. Raises ArchiveError for an unreadable chunk.
    """
    if order is None:
        order = _flow_order(status.get("flow") or {})
    runs = list(taskruns_by_id(status).values())
    runs.sort(key=lambda tr: _creation(_parse_date(tr), tr.get("taskId"), tr.get("iteration"), order))
    return runs


def _creation(created: datetime, task_id: str | None, iteration: int | None, order: dict[str, int]) -> tuple:
    return created, order.get(task_id or "", 0), iteration or 0


def _parse_date(taskrun: dict[str, Any]) -> datetime:
    histories = (taskrun.get("state") or {}).get("histories") or []
    try:
        return datetime.fromisoformat(histories[0]["date"])
    except (IndexError, KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)


def _flow_order(snapshot: dict[str, Any]) -> dict[str, int]:
    from kflow.flow import FlowError, parse_flow

    if not snapshot:
        return {}
    try:
        flow = parse_flow(snapshot, source=f"{snapshot.get('namespace')}.{snapshot.get('id')}")
    except FlowError:
        return {}
    return {task.id: i for i, task in enumerate(flow.all_tasks())}
