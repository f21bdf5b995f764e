"""What crosses into a runner (an Invocation) and what comes back (a TaskResult)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kflow.storage.config import StorageConfig


class Invocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    executionId: str
    taskRunId: str
    attempt: int = 0
    namespace: str
    flowId: str
    task: dict[str, Any] = Field(description="The task's definition as written in the flow, unrendered.")
    context: dict[str, Any] = Field(description="The expression variables the task's templates read.")
    secretInputs: list[str] = Field(
        default_factory=list, description="Ids of the flow's SECRET inputs: their values are masked as secrets are."
    )
    storage: StorageConfig | None = Field(
        None,
        description="Where internal storage is (no credentials: the runner reads those from its environment); "
        "unset: from the runner's environment (KFLOW_STORAGE), else ~/.kflow/storage.",
    )


class Envelope(BaseModel):
    """What `kflow run` writes on a runner's stdin: the invocation and what must not be in an
    environment a script can read (the task's own secrets, the storage credentials)."""

    model_config = ConfigDict(extra="forbid")

    invocation: Invocation
    secrets: dict[str, str] = Field(default_factory=dict, description="The secrets the task names, by name.")
    storageCredentials: dict[str, str] = Field(default_factory=dict, description="KFLOW_STORAGE_* credential variables.")


class ChildResult(BaseModel):
    """How one child of a task that runs its children itself (WorkingDirectory) ended.

    `state` is the child task run's final state, after its allowFailure / allowWarning (a
    failure allowed is WARNING, its reason kept); SKIPPED: its runIf was false.
    """

    model_config = ConfigDict(extra="forbid")

    taskId: str
    state: Literal["SUCCESS", "WARNING", "FAILED", "SKIPPED"]
    outputs: dict[str, Any] | None = None
    reason: str | None = None
    startDate: datetime
    endDate: datetime


class TaskResult(BaseModel):
    """Compact enough for a pod's 4 KiB termination message in the common case."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["SUCCESS", "WARNING", "FAILED"]
    outputs: dict[str, Any] | None = None
    reason: str | None = None
    children: list[ChildResult] | None = Field(
        None, description="The children a WorkingDirectory ran, in order; those after a failure are absent."
    )

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)
