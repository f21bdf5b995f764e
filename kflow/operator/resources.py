"""The custom resources' shapes: what users write (spec) and what the operator records (status).

`crds/` is generated from these models (python -m kflow.operator.crds), never by hand.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# The status contract lives beside the Execution model, where the CLI and the UI may import it.
from kflow.execution.status import (  # noqa: F401 (re-exported: the CRD and older callers use these names)
    ArchiveError,
    ExecutionStatus,
    execution_from_status,
    taskruns_by_id,
    taskruns_from_status,
)

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


class FlowRetry(BaseModel):
    """Set by the operator on a try the flow's retry (CREATE_NEW_EXECUTION) made."""

    firstExecution: str = Field(description="The name of the first try's Execution.")
    attemptNumber: int = Field(ge=2, description="Which try this is (the first is 1).")
    scheduleDate: str | None = Field(None, description="It waits CREATED until this instant (the policy's delay).")
    originalCreatedDate: str | None = Field(None, description="When the first try started: the policy's maxDuration counts from it.")


class ExecutionSpec(BaseModel):
    """What a user asks for: run this flow with these inputs."""

    model_config = ConfigDict(extra="forbid")

    flowRef: FlowRef = Field(description="The Flow to run.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Values of the flow's inputs, by input id. A SECRET input only as {secretKeyRef: {name, key}}: a Secret annotated kflow.io/inputs-of=<this execution> (kflow execute writes it); a plain value is refused.")
    labels: dict[str, str] = Field(default_factory=dict, description="Kestra labels of this execution.")
    kill: bool = Field(False, description="Set to true to kill the execution: its pods are deleted, its state ends KILLED.")
    restart: int = Field(0, ge=0, description="Raise by one to restart a FAILED or KILLED execution from its failed task runs (earlier outputs are kept).")
    resume: int = Field(0, ge=0, description="Raise by one to resume the execution's PAUSED tasks.")
    resumeInputs: dict[str, Any] | None = Field(None, description="Values of the paused Pause tasks' `onResume` inputs, by input id, given with the resume (set it in the same patch that raises `resume`); a SECRET one as {secretKeyRef: {name, key}}, as in `inputs`.")
    replay: ReplayRef | None = Field(None, description="Make this execution a replay of another one, from one of its task runs (flowRef is then that execution's flow).")
    outputs: dict[str, Any] | None = Field(None, description="Set by a parent's Subflow task with its own `outputs`: rendered at the end as this execution's outputs when its flow declares none.")
    trigger: dict[str, Any] | None = Field(None, description="Set by a trigger: what expressions see as `trigger.*` (Schedule: date, next, previous; Flow: executionId, flowId, outputs ...; Webhook: body, headers, parameters; HTTP Trigger: uri, code, headers, body).")
    flowRetry: FlowRetry | None = Field(None, description="Set on a new try made by the flow's retry (behavior CREATE_NEW_EXECUTION).")


class Condition(BaseModel):
    type: str
    status: str = Field(description="True, False or Unknown.")
    reason: str | None = None
    message: str | None = None
    lastTransitionTime: str | None = None


class TriggerState(BaseModel):
    """What a trigger remembers: a Schedule's dates (a restarted operator catches up per recoverMissedSchedules), its backfill, a stopAfter stop."""

    lastDate: str | None = Field(None, description="The newest scheduled date handled (run, or skipped by the policy).")
    nextDate: str | None = Field(None, description="The next date an execution is due.")
    since: str | None = Field(None, description="When the operator first saw this trigger: dates before it never run.")
    stoppedBy: str | None = Field(None, description="stopAfter: the execution whose end stopped this trigger (any trigger type).")
    stoppedAt: str | None = Field(None, description="When stopAfter stopped it.")
    stoppedGeneration: int | None = Field(None, description="The Flow generation it is stopped for: editing the Flow's spec starts it again.")
    backfillKey: str | None = Field(None, description="The Schedule backfill (start|end) being run or done.")
    backfillLastDate: str | None = Field(None, description="The newest backfill date an execution was started for.")
    backfillDone: bool | None = Field(None, description="Every date of the backfill has its execution.")
    preconditionsMet: dict[str, str] | None = Field(None, description="Flow trigger preconditions (or MultipleCondition): each condition met in the current window, and when.")
    windowStart: str | None = Field(None, description="The start of the preconditions' current time window.")
    lastFired: str | None = Field(None, description="End of the execution that last completed the preconditions.")


class FlowStatus(BaseModel):
    """The Flow as last validated."""

    revision: int | None = Field(None, description="The flow revision: its metadata.generation, unless the flow sets one.")
    observedGeneration: int | None = None
    valid: str | None = Field(None, description="True or False, for `kubectl get flows`.")
    conditions: list[Condition] = Field(default_factory=list)
    triggers: dict[str, TriggerState] | None = Field(None, description="Triggers by id: a Schedule's last and next date and backfill progress; any trigger stopped by stopAfter.")
