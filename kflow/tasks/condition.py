"""If: `then` when the rendered condition is true, else `else` (Kestra's truthiness)."""

from __future__ import annotations

from pydantic import Field

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_with_errors, sequence_next
from kflow.execution import State
from kflow.flow.flowable import FlowableTask
from kflow.flow.task import TaskList

_FALSE = {"false", "0", "-0", "", "null", "none"}


def truthy(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().lower() not in _FALSE


class If(FlowableTask):
    task_lists = ("then", "else_", "errors")
    unrendered = FlowableTask.unrendered | {"condition"}

    condition: str | bool = Field(description="An expression; true runs `then`, false runs `else`.")
    then: TaskList = Field(min_length=1, description="Tasks run when the condition is true.")
    else_: TaskList | None = Field(None, alias="else", description="Tasks run when it is false.")

    def _selected(self, node: Node) -> tuple[str, list]:
        outputs = node.outputs
        if "evaluationResult" not in outputs:
            node.set_outputs(evaluationResult=truthy(node.render(self.condition)))
            outputs = node.outputs
        return ("then", self.then) if outputs["evaluationResult"] else ("else_", self.else_ or [])

    def next_children(self, node: Node) -> list[ChildSpec]:
        branch, tasks = self._selected(node)
        handled = errors_next(self.errors, node, branch)
        return handled if handled is not None else sequence_next(tasks, node, branch)

    def resolve_state(self, node: Node) -> State | None:
        branch, tasks = self._selected(node)
        return resolve_with_errors(tasks, self.errors, node, branch)
