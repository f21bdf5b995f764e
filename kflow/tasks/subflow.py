"""Subflow (old name Flow): run another flow as a child execution and take back its outputs.

Its hooks say it all: an attempt starts `child_execution` (the engine renders `namespace`,
`flowId`, `inputs` and `labels` and asks its shell to start the child, StartSubflow); the shell
reports the child's end as the attempt's end, with outputs {executionId, state, outputs}, and
`attempt_state` keeps a child's failure from failing it when `transmitFailed` is false.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kflow.execution import State
from kflow.flow.task import ChildExecution, RunnableTask


class Subflow(RunnableTask):
    unrendered = RunnableTask.unrendered | {"namespace", "flowId", "inputs", "labels"}

    namespace: str = Field(description="The child flow's namespace.")
    flowId: str = Field(description="The child flow's id.")
    inputs: dict[str, Any] | None = Field(None, description="The child's inputs; expressions are rendered first.")
    labels: dict[str, Any] | list[dict[str, Any]] | None = Field(None, description="Labels of the child execution.")
    wait: bool = Field(True, description="Wait for the child to end; false: done once it started.")
    transmitFailed: bool = Field(True, description="Fail when the child fails (only with wait).")
    inheritLabels: bool = Field(False, description="Give the child this execution's labels too.")
    revision: int | None = Field(None, description="Accepted for Kestra compatibility; the current flow runs.")
    scheduleDate: str | None = None

    def child_execution(self) -> ChildExecution:
        return ChildExecution(self.namespace, self.flowId, self.inputs or {}, self.labels or {}, self.wait)

    def attempt_state(self, reported: State) -> State:
        return State.SUCCESS if reported == State.FAILED and not self.transmitFailed else reported

    def run(self, ctx):  # pragma: no cover - the engine starts subflows, never a runner
        raise RuntimeError("a Subflow is started by the engine, not run by a runner")
