"""Dag: each task starts once every task it `dependsOn` succeeded; at most `concurrent` at once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_with_errors
from kflow.execution import State
from kflow.flow.flowable import FlowableTask
from kflow.flow.task import Task

_DONE = {State.SUCCESS, State.WARNING, State.SKIPPED}


class DagTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: SerializeAsAny[Task]
    dependsOn: list[str] = Field(default_factory=list, description="Ids of tasks of this Dag that must succeed first.")


class Dag(FlowableTask):
    task_lists = ("tasks", "errors")
    wrapped_task_key = "task"

    tasks: list[DagTask] = Field(min_length=1, description="Tasks with the ids they depend on.")
    concurrent: int = Field(0, ge=0, description="Tasks run at once; 0 for no limit.")

    @model_validator(mode="after")
    def _graph(self) -> Dag:
        ids = [item.task.id for item in self.tasks]
        known = set(ids)
        for i, item in enumerate(self.tasks):
            missing = [dep for dep in item.dependsOn if dep not in known]
            if missing:
                raise ValueError(f"tasks[{i}] ({item.task.id}) dependsOn {', '.join(missing)}, which is not a task of this Dag (its tasks: {', '.join(ids)})")
        cycle = _cycle({item.task.id: item.dependsOn for item in self.tasks})
        if cycle:
            raise ValueError(f"tasks depend on each other in a cycle: {' -> '.join(cycle)}")
        return self

    def branch_lists(self) -> list[tuple[str, list[Task]]]:
        out = [("tasks", [item.task for item in self.tasks])]
        return out + ([("errors", self.errors)] if self.errors else [])

    def map_branch_lists(self, change) -> Task:
        kept = change("tasks", [item.task for item in self.tasks])
        by_id = {task.id: task for task in kept}
        # A disabled task is gone: whoever depended on it no longer waits for it.
        items = [DagTask(task=by_id[item.task.id], dependsOn=[d for d in item.dependsOn if d in by_id]) for item in self.tasks if item.task.id in by_id]
        errors = change("errors", self.errors) if self.errors is not None else None
        return self.model_copy(update={"tasks": items, "errors": errors})

    def next_children(self, node: Node) -> list[ChildSpec]:
        handled = errors_next(self.errors, node)
        if handled is not None:
            return handled
        free = len(self.tasks) if self.concurrent == 0 else self.concurrent - node.branch("tasks").active
        out = []
        for item in self.tasks:
            if len(out) >= free:
                break
            if node.child_state(item.task.id) is None and all(node.child_state(dep) in _DONE for dep in item.dependsOn):
                out.append(ChildSpec(item.task))
        return out

    def resolve_state(self, node: Node) -> State | None:
        return resolve_with_errors(self.tasks, self.errors, node)


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle, as the path that closes it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None
