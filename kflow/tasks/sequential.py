"""Sequential: children one after another; a failure stops what follows and runs `errors`."""

from __future__ import annotations

from pydantic import Field

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_with_errors, sequence_next
from kflow.execution import State
from kflow.flow.flowable import FlowableTask
from kflow.flow.task import TaskList


class Sequential(FlowableTask):
    task_lists = ("tasks", "errors")

    tasks: TaskList = Field(min_length=1, description="The tasks, run one after another.")

    def next_children(self, node: Node) -> list[ChildSpec]:
        handled = errors_next(self.errors, node)
        return handled if handled is not None else sequence_next(self.tasks, node)

    def resolve_state(self, node: Node) -> State | None:
        return resolve_with_errors(self.tasks, self.errors, node)
