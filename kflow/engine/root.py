"""The flow itself as the outermost flowable: `tasks` in order, `errors` on failure, then `finally`."""

from __future__ import annotations

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_with_errors, sequence_next
from kflow.execution import State, worst
from kflow.flow.task import Task


class FlowRoot:
    flowable = True

    def __init__(self, tasks: list[Task], errors: list[Task], finally_: list[Task]):
        self.tasks, self.errors, self.finally_ = tasks, errors, finally_

    def _body_state(self, node: Node) -> State | None:
        return resolve_with_errors(self.tasks, self.errors, node)

    def next_children(self, node: Node) -> list[ChildSpec]:
        if self._body_state(node) is not None:
            return self._finally_next(node)
        handled = errors_next(self.errors, node)
        return handled if handled is not None else sequence_next(self.tasks, node)

    def _finally_next(self, node: Node) -> list[ChildSpec]:
        # `finally` tasks all run, one after another, whatever happened before them.
        stats = node.branch("finally")
        if stats.active or stats.created >= len(self.finally_):
            return []
        return [ChildSpec(self.finally_[stats.created])]

    def resolve_state(self, node: Node) -> State | None:
        body = self._body_state(node)
        if body is None:
            return None
        stats = node.branch("finally")
        if stats.active or stats.created < len(self.finally_):
            return None
        return worst([body, stats.final_state()]) if self.finally_ else body
