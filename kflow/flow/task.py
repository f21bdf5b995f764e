"""The task base classes every task type extends, and Kestra's retry policy.

Kept apart from the Flow model so the runner imports only what one task needs.
"""

from __future__ import annotations

import re
from typing import Any, Callable, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator, model_validator

from kflow.execution.states import State
from kflow.flow.durations import parse_duration

TASK_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")


class ChildExecution(NamedTuple):
    """What an attempt of a subflow-like task starts instead of a runner: an execution of
    another flow. The engine renders every field but `wait` with the task run's variables."""

    namespace: str
    flowId: str
    inputs: dict[str, Any]
    labels: dict[str, Any]
    wait: bool  # the attempt ends with the child (True) or as soon as it exists


class Retry(BaseModel):
    """Kestra's retry policy: a failed attempt is followed by another of the same task run."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["constant", "exponential", "random"]
    interval: str | None = Field(None, description="Delay between attempts (constant, exponential).")
    maxInterval: str | None = Field(None, description="Upper bound of the delay (exponential, random).")
    minInterval: str | None = Field(None, description="Lower bound of the delay (random).")
    delayFactor: float | None = Field(None, description="Growth of the delay per attempt (exponential).")
    maxAttempt: int | None = Field(None, alias="maxAttempts", ge=1, description="Attempts in all, the first included.")
    maxDuration: str | None = Field(None, description="No new attempt once this long has passed since the first.")
    warningOnRetry: bool = Field(False, description="End WARNING when a retry was needed to succeed.")
    behavior: Literal["RETRY_FAILED_TASK", "CREATE_NEW_EXECUTION"] = "RETRY_FAILED_TASK"

    @field_validator("interval", "maxInterval", "minInterval", "maxDuration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _needs(self) -> Retry:
        if self.type in ("constant", "exponential") and self.interval is None:
            raise ValueError(f"a {self.type} retry needs `interval` (for example PT10S)")
        if self.type == "random" and (self.minInterval is None or self.maxInterval is None):
            raise ValueError("a random retry needs `minInterval` and `maxInterval`")
        if self.maxAttempt is None and self.maxDuration is None:
            raise ValueError("a retry needs `maxAttempt` or `maxDuration`, or it would never stop")
        return self


class PodResources(BaseModel):
    """Kestra's Kubernetes task-runner resources: `request` and `limit`, each cpu and memory."""

    model_config = ConfigDict(extra="forbid")

    request: dict[str, str] | None = Field(None, description="For example {cpu: 500m, memory: 256Mi}.")
    limit: dict[str, str] | None = Field(None, description="For example {memory: 1Gi}.")

    def to_kubernetes(self) -> dict[str, dict[str, str]]:
        out = {}
        if self.request:
            out["requests"] = dict(self.request)
        if self.limit:
            out["limits"] = dict(self.limit)
        return out


class TaskRunner(BaseModel):
    """Where a task runs, as Kestra's Kubernetes task runner says it: on a cluster, its pod's
    resources and node selector. Ignored by `kflow run`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="For example io.kestra.plugin.ee.kubernetes.runner.Kubernetes.")
    resources: PodResources | None = Field(None, description="The task pod's resource requests and limits.")
    nodeSelector: dict[str, str] | None = Field(None, description="Node labels the task pod must run on.")


class Task(BaseModel):
    """Properties every Kestra task has. Subclasses add their own; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # Set on each registered class: its canonical type name.
    type_name: ClassVar[str] = ""
    # Properties that hold child tasks; the loader parses them through the registry. Each is
    # a list of tasks or a map of lists (Switch `cases`: every case is in the same branch).
    task_lists: ClassVar[tuple[str, ...]] = ()
    # Set when items of the task lists wrap a task under this key (Dag: {task, dependsOn}).
    wrapped_task_key: ClassVar[str | None] = None
    # Properties the runner must not render (the engine reads them, or they hold templates
    # rendered later on purpose).
    unrendered: ClassVar[frozenset[str]] = frozenset(
        {"id", "type", "description", "retry", "timeout", "disabled", "runIf", "allowFailure", "allowWarning", "logLevel", "taskRunner"}
    )

    id: str = Field(description="Unique within the flow; letters, digits, - and _.")
    type: str = Field(description="The task type, for example io.kestra.plugin.core.debug.Return.")
    description: str | None = None
    retry: Retry | None = None
    timeout: str | None = Field(None, description="ISO-8601 duration after which an attempt is killed and FAILED.")
    disabled: bool = False
    logLevel: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] | None = None
    allowFailure: bool = False
    allowWarning: bool = False
    runIf: str | bool = "true"
    workerGroup: dict[str, Any] | None = None
    taskRunner: TaskRunner | None = Field(None, description="On a cluster: the task pod's resources and node selector.")

    @field_validator("id", mode="before")
    @classmethod
    def _task_id(cls, value: object) -> object:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"a task id is text, not a number: quote it (id: \"{value}\")")
        if isinstance(value, str) and not TASK_ID.match(value):
            raise ValueError("a task id starts with a letter or digit and holds only letters, digits, - and _")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= 0:
            raise ValueError("timeout must be a positive duration")
        return value

    @property
    def flowable(self) -> bool:
        return False

    def children(self) -> list[Task]:
        """Every task directly under this one, in all of its task lists."""
        return [task for _, tasks in self.branch_lists() for task in tasks]

    def branch_lists(self) -> list[tuple[str, list[Task]]]:
        """(branch name, tasks) for each task list; a map of lists gives one pair per key."""
        out: list[tuple[str, list[Task]]] = []
        for name in self.task_lists:
            value = getattr(self, name)
            if isinstance(value, dict):
                out.extend((name, tasks or []) for tasks in value.values())
            elif value:
                out.append((name, value))
        return out

    def map_branch_lists(self, change: Callable[[str, list[Task]], list[Task]]) -> Task:
        """A copy with each task list replaced by `change(branch, tasks)`."""
        updates: dict[str, Any] = {}
        for name in self.task_lists:
            value = getattr(self, name)
            if isinstance(value, dict):
                updates[name] = {key: change(name, tasks or []) for key, tasks in value.items()}
            elif value is not None:
                updates[name] = change(name, value)
        return self.model_copy(update=updates) if updates else self

    # -- hooks: how the engine treats a task type, owned by the type (defaults: a runnable) ----
    def created_state(self) -> State | None:
        """The state a new task run takes without a runner; None: an attempt starts at once.

        A flowable is RUNNING (its children decide); Pause is PAUSED, which pauses the
        execution until its end."""
        return None

    def child_execution(self) -> ChildExecution | None:
        """The execution an attempt starts instead of a runner (Subflow); None for most tasks."""
        return None

    def attempt_state(self, reported: State) -> State:
        """The state an ended attempt counts as, from the one its shell reported."""
        return reported

    # A task whose attempt starts one child execution per batch (ForEachItem's items) answers
    # the three batch hooks; the engine's types (ExecutionIndex, events) are a layer above, so
    # they are typed where a task overrides them (kflow.tasks.foreach_item).
    def batch_children(self, index: Any, taskrun: Any, attempt: int, context: dict[str, Any],
                       namespace: str, flow_id: str, labels: dict[str, str]) -> list[Any] | None:
        """The StartSubflow actions of an attempt, one per batch; None (most tasks, Subflow):
        the attempt starts one child from `child_execution()`, rendered by the engine."""
        return None

    def batch_child_ended(self, index: Any, taskrun: Any, event: Any) -> Any | None:
        """Record the end of the child of batch `event.iteration`; returns the attempt's end once
        every batch ended, else None. Default: the event is the attempt's end."""
        return event

    def waiting_batches(self, taskrun: Any) -> list[int] | None:
        """The batches whose child execution has not ended (a shell watches or kills them);
        None: the attempt has one child, not batches."""
        return None

    def resume_outputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Outputs of a paused task run once resumed with `inputs`; ValueError refuses them."""
        return {}

    @property
    def starts_execution(self) -> bool:
        """An attempt of this task is a child execution: the shells watch it, no runner runs it."""
        return self.child_execution() is not None

    def subflow_id(self) -> tuple[str, str] | None:
        """(namespace, flow id) of the flow this task starts, as written; None for most tasks."""
        child = self.child_execution()
        return (child.namespace, child.flowId) if child else None

    def timeout_seconds(self) -> float | None:
        return parse_duration(self.timeout) if self.timeout else None


class RunnableTask(Task):
    """A task that does work in the runner: a process locally, a pod in a cluster."""

    def run(self, ctx: Any) -> dict[str, Any] | None:  # pragma: no cover - abstract
        """Do the work; `ctx` is the runner's RunContext (kflow.runner.context, a layer above
        this one: each task type names it in its own signature). Returns the outputs."""
        raise NotImplementedError


TaskList = list[SerializeAsAny[Task]]
