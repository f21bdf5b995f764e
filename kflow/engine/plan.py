"""A flow prepared for the engine: task lookup, each task's place, disabled tasks removed."""

from __future__ import annotations

from dataclasses import dataclass

from kflow.flow.model import Flow, Task


@dataclass(frozen=True)
class Place:
    parent_task_id: str | None  # None: directly under the flow
    branch: str  # the parent's task list holding it: tasks, errors, finally, then, ...


class FlowPlan:
    def __init__(self, flow: Flow):
        self.flow = flow
        self.tasks: dict[str, Task] = {}
        self.places: dict[str, Place] = {}
        self.root_tasks = self._enabled(flow.tasks, None, "tasks")
        self.root_errors = self._enabled(flow.errors, None, "errors")
        self.root_finally = self._enabled(flow.finally_, None, "finally")
        # Each listener's conditions and its tasks (branch "listeners"), run after the end.
        self.root_listeners = [(listener.conditions, self._enabled(listener.tasks, None, "listeners")) for listener in flow.listeners]
        # Each task's place in the flow, depth first: the order its runs are created in.
        self.order: dict[str, int] = flow.task_order()
        # Flowables with a `timeout`: the only ones each step must check against the clock.
        self.flowable_timeouts: dict[str, float] = {
            task.id: task.timeout_seconds() for task in self.tasks.values() if task.flowable and task.timeout
        }

    def _enabled(self, tasks: list[Task] | None, parent: str | None, branch: str) -> list[Task]:
        out = []
        for task in tasks or []:
            if task.disabled:
                continue
            task = task.map_branch_lists(lambda branch, children, parent=task.id: self._enabled(children, parent, branch))
            self.tasks[task.id] = task
            self.places[task.id] = Place(parent, branch)
            out.append(task)
        return out

    def task(self, task_id: str) -> Task:
        return self.tasks[task_id]
