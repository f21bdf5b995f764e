"""Parallel: children at once, at most `concurrent` at a time (0: no limit).

After a failure no new child starts; the running ones finish, then it fails (and its
`errors` run), as Kestra does.
"""

from __future__ import annotations

from pydantic import Field

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_with_errors
from kflow.execution import State
from kflow.flow.flowable import FlowableTask
from kflow.flow.task import TaskList


class Parallel(FlowableTask):
    task_lists = ("tasks", "errors")

    tasks: TaskList = Field(min_length=1, description="The tasks, run at the same time.")
    concurrent: int = Field(0, ge=0, description="How many children may run at once; 0 for no limit.")

    def next_children(self, node: Node) -> list[ChildSpec]:
        handled = errors_next(self.errors, node)
        if handled is not None:
            return handled
        stats = node.branch("tasks")
        free = len(self.tasks) if self.concurrent == 0 else self.concurrent - stats.active
        start = stats.created
        return [ChildSpec(task) for task in self.tasks[start : start + max(free, 0)]]

    def resolve_state(self, node: Node) -> State | None:
        return resolve_with_errors(self.tasks, self.errors, node)
