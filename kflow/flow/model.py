"""Pydantic models of a Kestra flow, as written in YAML."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kflow.flow.inputs import Input
from kflow.flow.flowable import FlowableTask
from kflow.flow.sla import SLA
from kflow.flow.task import Retry, RunnableTask, Task, TaskList
from kflow.flow.triggers import Condition, Trigger

__all__ = ["Flow", "FlowableTask", "Output", "Retry", "RunnableTask", "Task", "TaskList"]

FLOW_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    type: str = "STRING"
    value: Any = None
    description: str | None = None


class Listener(BaseModel):
    """Kestra's older `listeners`: `tasks` run once the execution has ended, when it meets
    `conditions` (ExecutionStatus, ExecutionFlow, ExecutionNamespace); they do not change its state."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, description="What the listener is for.")
    conditions: list[Condition] = Field(default_factory=list, description="All must hold for the tasks to run; none: always.")
    tasks: TaskList = Field(min_length=1, description="Run one after another after the execution's own tasks.")


class Flow(BaseModel):
    """A Kestra flow, as written in YAML."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(description="The flow id, unique within its namespace.")
    namespace: str = Field(description="Kestra's dotted namespace, for example company.team.")
    revision: int | None = None
    description: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    inputs: list[Input] = Field(default_factory=list)
    variables: dict[str, Any] = Field(default_factory=dict)
    tasks: TaskList = Field(min_length=1, description="The tasks, run one after another.")
    errors: TaskList = Field(default_factory=list, description="Tasks run when the flow fails.")
    finally_: TaskList = Field(default_factory=list, alias="finally", description="Tasks run at the end in any case.")
    outputs: list[Output] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list, description=(
        "Triggers, run by the operator (`kflow run` ignores them). Schedule: cron, withSeconds, timezone, "
        "recoverMissedSchedules, lateMaximumDelay, backfill {start, end, inputs, labels, paused}. Flow: states, conditions "
        "(ExecutionFlow, ExecutionStatus, ExecutionNamespace, MultipleCondition), preconditions {flows, where, timeWindow, "
        "resetOnSuccess}. Webhook: key, conditions (Expression); called at /api/v1/executions/webhook/{namespace}/{flowId}/{key}. "
        "HTTP Trigger: uri, method, body, contentType, headers, responseCondition, interval, allowConcurrent. Every kind: "
        "inputs, disabled, stopAfter."))
    pluginDefaults: list[dict[str, Any]] = Field(default_factory=list)
    concurrency: dict[str, Any] | None = None
    listeners: list[Listener] = Field(default_factory=list, description="Kestra's older listeners: tasks run after the execution ended, when their conditions hold.")
    sla: list[SLA] = Field(default_factory=list, description="Service levels each execution must meet (MAX_DURATION, EXECUTION_ASSERTION) and what a violation does.")
    retry: Retry | None = Field(None, description="Kestra's flow-level retry: a failed execution runs its failed task runs again "
                                "(behavior RETRY_FAILED_TASK, the default) or ends RETRIED and a new execution runs (CREATE_NEW_EXECUTION), after the policy's delay.")
    disabled: bool = False
    deleted: bool = False

    @field_validator("id")
    @classmethod
    def _flow_id(cls, value: str) -> str:
        if not FLOW_ID.match(value) or len(value) > 100:
            raise ValueError("a flow id has 1-100 letters, digits, '.', '_' or '-' and starts with a letter or digit")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not NAMESPACE.match(value):
            raise ValueError("a namespace holds lower-case letters, digits, '.', '_' and '-', for example company.team")
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        # Kestra accepts both a map and a list of {key, value}.
        if isinstance(value, list):
            if not all(isinstance(item, dict) and "key" in item and "value" in item for item in value):
                raise ValueError("labels are a map, or a list of {key, value} mappings")
            return {str(item["key"]): str(item["value"]) for item in value}
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # Kestra: limit >= 1; behavior QUEUE (the default), CANCEL or FAIL
        if value is None:
            return value
        unknown = sorted(set(value) - {"limit", "behavior"})
        if unknown:
            raise ValueError(f"unknown concurrency property {unknown[0]!r}; concurrency accepts limit and behavior")
        limit = value.get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"concurrency.limit must be an integer of at least 1, got {limit!r}")
        behavior = value.get("behavior", "QUEUE")
        if str(behavior).upper() not in ("QUEUE", "CANCEL", "FAIL"):
            raise ValueError(f"concurrency.behavior must be QUEUE, CANCEL or FAIL, got {behavior!r}")
        return value

    def all_tasks(self) -> list[Task]:
        """Every task of the flow, depth first, in declaration order."""
        out: list[Task] = []
        stack = list(reversed([*self.tasks, *self.errors, *self.finally_, *self.listener_tasks()]))
        while stack:
            task = stack.pop()
            out.append(task)
            stack.extend(reversed(task.children()))
        return out

    def listener_tasks(self) -> list[Task]:
        return [task for listener in self.listeners for task in listener.tasks]

    def task_order(self) -> dict[str, int]:
        """Each task's place in the flow, depth first as declared: runs created in one instant
        were created in this order, and siblings are shown in it (engine, CLI, Gantt, UI)."""
        return {task.id: i for i, task in enumerate(self.all_tasks())}
