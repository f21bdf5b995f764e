"""Subflow (old name Flow): run another flow as a child execution and take back its outputs.

Its hooks say it all: an attempt starts `child_execution` (the engine renders `namespace`,
`flowId`, `inputs` and `labels` and asks its shell to start the child, StartSubflow); the shell
reports the child's end as the attempt's end, with outputs {executionId, state, outputs}, and
`attempt_state` keeps a child's failure from failing it when `transmitFailed` is false.

The task's own `outputs` map (Kestra's deprecated form) is rendered in the child's context, as
Kestra does, and only when the child flow declares no `outputs`: the shell starts the child
with them as its flow outputs (`with_task_outputs`), so `outputs` comes back the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from kflow.execution import State
from kflow.flow.task import ChildExecution, RunnableTask

if TYPE_CHECKING:
    from kflow.flow.model import Flow


class Subflow(RunnableTask):
    unrendered = RunnableTask.unrendered | {"namespace", "flowId", "inputs", "labels", "outputs"}

    namespace: str = Field(description="The child flow's namespace.")
    flowId: str = Field(description="The child flow's id.")
    inputs: dict[str, Any] | None = Field(None, description="The child's inputs; expressions are rendered first.")
    labels: dict[str, Any] | list[dict[str, Any]] | None = Field(None, description="Labels of the child execution.")
    wait: bool = Field(True, description="Wait for the child to end; false: done once it started.")
    transmitFailed: bool = Field(True, description="Fail when the child fails (only with wait).")
    inheritLabels: bool = Field(False, description="Give the child this execution's labels too.")
    outputs: dict[str, Any] | None = Field(
        None, description="Outputs rendered in the child execution's context once it ended, when its flow declares none (Kestra's older form of flow outputs)."
    )
    revision: int | None = Field(None, description="Accepted for Kestra compatibility; the current flow runs.")
    scheduleDate: str | None = None

    def child_execution(self) -> ChildExecution:
        return ChildExecution(self.namespace, self.flowId, self.inputs or {}, self.labels or {}, self.wait)

    def attempt_state(self, reported: State) -> State:
        return State.SUCCESS if reported == State.FAILED and not self.transmitFailed else reported

    def run(self, ctx):  # pragma: no cover - the engine starts subflows, never a runner
        raise RuntimeError("a Subflow is started by the engine, not run by a runner")


def with_task_outputs(flow: Flow, outputs: dict[str, Any] | None) -> Flow:
    """The child flow a Subflow with its own `outputs` starts: those as its flow outputs.

    Kestra applies them only when the child flow has no `outputs` of its own."""
    if not outputs or flow.outputs:
        return flow
    from kflow.flow.model import Output

    return flow.model_copy(update={"outputs": [Output(id=str(key), type="JSON", value=value) for key, value in outputs.items()]})
