"""The flow itself as the outermost flowable: `tasks` in order, `errors` on failure, then `finally`."""

from __future__ import annotations

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_with_errors, sequence_next
from kflow.execution import State, worst
from kflow.flow.task import Task


class FlowRoot:
    flowable = True

    def __init__(self, tasks: list[Task], errors: list[Task], finally_: list[Task],
                 listeners: list[tuple[list, list[Task]]] | None = None, namespace: str = "", flow_id: str = ""):
        self.tasks, self.errors, self.finally_ = tasks, errors, finally_
        self.listeners, self.namespace, self.flow_id = listeners or [], namespace, flow_id

    def _ended(self, node: Node) -> State | None:
        """The execution's state once `tasks`, `errors` and `finally` are done (listeners aside)."""
        body = self._body_state(node)
        if body is None:
            return None
        stats = node.branch("finally")
        if stats.active or stats.created < len(self.finally_):
            return None
        return worst([body, stats.final_state()]) if self.finally_ else body

    def _listener_tasks(self, state: State) -> list[Task]:
        """The tasks of the listeners whose conditions the ended execution meets, in order."""
        from kflow.triggers.conditions import holds_for

        return [task for conditions, tasks in self.listeners
                if all(holds_for(c, self.namespace, self.flow_id, state.value) for c in conditions) for task in tasks]

    def _body_state(self, node: Node) -> State | None:
        return resolve_with_errors(self.tasks, self.errors, node)

    def next_children(self, node: Node) -> list[ChildSpec]:
        ended = self._ended(node) if self.listeners else None
        if ended is not None:  # listeners run one after another, whatever they end in
            listening, stats = self._listener_tasks(ended), node.branch("listeners")
            return [] if stats.active or stats.created >= len(listening) else [ChildSpec(listening[stats.created])]
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
        ended = self._ended(node)
        if ended is None or not self.listeners:
            return ended
        stats = node.branch("listeners")
        return None if stats.active or stats.created < len(self._listener_tasks(ended)) else ended
