"""The custom resources' shapes: what users write (spec) and what the operator records (status).

`crds/` is generated from these models (python -m kflow.operator.crds), never by hand.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kflow.execution import Execution, TaskRun

GROUP = "kflow.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class FlowRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Name of the Flow resource, in the Execution's Kubernetes namespace.")


class ExecutionSpec(BaseModel):
    """What a user asks for: run this flow with these inputs."""

    model_config = ConfigDict(extra="forbid")

    flowRef: FlowRef = Field(description="The Flow to run.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Values of the flow's inputs, by input id.")
    labels: dict[str, str] = Field(default_factory=dict, description="Kestra labels of this execution.")
    kill: bool = Field(False, description="Set to true to kill the execution: its pods are deleted, its state ends KILLED.")
    restart: int = Field(0, ge=0, description="Raise by one to restart a FAILED or KILLED execution from its failed task runs (earlier outputs are kept).")
    resume: int = Field(0, ge=0, description="Raise by one to resume the execution's PAUSED tasks.")


class Condition(BaseModel):
    type: str
    status: str = Field(description="True, False or Unknown.")
    reason: str | None = None
    message: str | None = None
    lastTransitionTime: str | None = None


class FlowStatus(BaseModel):
    """The Flow as last validated."""

    revision: int | None = Field(None, description="The flow revision: its metadata.generation, unless the flow sets one.")
    observedGeneration: int | None = None
    valid: str | None = Field(None, description="True or False, for `kubectl get flows`.")
    conditions: list[Condition] = Field(default_factory=list)


class ExecutionStatus(BaseModel):
    """The Kestra execution (state, inputs, task runs with attempts and outputs) and a summary.

    `taskRuns` is keyed by task run id, so a status update carries only what changed.
    """

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, description="The Kestra execution id.")
    namespace: str | None = Field(None, description="Kestra's (dotted) namespace of the flow.")
    flowId: str | None = None
    flowRevision: int | None = None
    state: dict[str, Any] | None = Field(None, description="The execution's state: current and histories.")
    current: str | None = Field(None, description="The current state, for `kubectl get executions`.")
    inputs: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    error: str | None = Field(None, description="Why the execution failed before or outside its tasks.")
    progress: str | None = Field(None, description="Task runs done / created, for `kubectl get executions`.")
    startDate: str | None = None
    duration: str | None = Field(None, description="How long it ran, once it ended.")
    flow: dict[str, Any] | None = Field(None, description="The flow as it was when the execution started.")
    restarted: int | None = Field(None, description="The spec.restart value last acted on.")
    resumed: int | None = Field(None, description="The spec.resume value last acted on.")
    taskRuns: dict[str, dict[str, Any]] | None = Field(None, description="Task runs by id: taskId, parentTaskRunId, value, state, attempts, outputs.")


def execution_from_status(status: dict[str, Any], order: dict[str, int]) -> Execution:
    """The engine's Execution from a stored status; task runs back in creation order.

    `order` is each task's place in the flow (FlowPlan.order): runs created in the same
    instant were created in that order.
    """
    runs = [TaskRun.model_validate(tr) for tr in (status.get("taskRuns") or {}).values() if tr]
    runs.sort(key=lambda tr: (tr.state.histories[0].date, order.get(tr.taskId, 0), tr.iteration or 0))
    data = {k: status[k] for k in ("id", "namespace", "flowId", "flowRevision", "state", "inputs", "labels", "error") if status.get(k) is not None}
    return Execution.model_validate({**data, "taskRunList": []}).model_copy(update={"taskRunList": runs})
