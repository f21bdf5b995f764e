"""The base of the tasks the engine resolves itself, apart from `task` so that `node` (what a
flowable sees) and `task` (what every task is) do not import each other."""

from __future__ import annotations

from pydantic import Field

from kflow.execution.states import State
from kflow.flow.node import ChildSpec, Node
from kflow.flow.task import Task, TaskList


class FlowableTask(Task):
    """A task resolved by the engine: it decides which children run next and its own state.

    `next_children` and `resolve_state` are called with a `Node`, an O(1) view of the task
    run's children kept up to date by the engine; neither may do I/O.
    """

    errors: TaskList | None = Field(None, description="Tasks run, one after another, when a child fails.")

    @property
    def flowable(self) -> bool:
        return True

    def created_state(self) -> State | None:
        return State.RUNNING

    def next_children(self, node: Node) -> list[ChildSpec]:  # pragma: no cover - abstract
        raise NotImplementedError

    def resolve_state(self, node: Node) -> State | None:  # pragma: no cover - abstract
        raise NotImplementedError
