"""What a flowable task sees of its own task run: O(1) counts of its children per branch.

A branch is one of the flowable's task lists (`tasks`, `errors`, `then`, ...). The engine
keeps these counts up to date as task runs change, so resolving a flowable never scans
the execution.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kflow.execution import FAILED_STATES, State, TaskRun, worst

if TYPE_CHECKING:
    from kflow.flow.task import Task


@dataclass(frozen=True)
class ChildSpec:
    """A child task run a flowable asks for."""

    task: Task
    value: str | None = None
    iteration: int | None = None


@dataclass
class BranchStats:
    ids: list[str] = field(default_factory=list)  # child task run ids, in creation order
    states: Counter = field(default_factory=Counter)  # how many children are in each state

    @property
    def created(self) -> int:
        return len(self.ids)

    @property
    def active(self) -> int:
        return len(self.ids) - sum(n for state, n in self.states.items() if state.terminal)

    @property
    def failed(self) -> int:
        return sum(self.states[state] for state in FAILED_STATES)

    def final_state(self) -> State:
        return worst(state for state, n in self.states.items() if n and state.terminal)


_EMPTY = BranchStats()


class Node:
    def __init__(self, taskrun: TaskRun | None, branches: dict[str, BranchStats], killing: bool):
        self.taskrun = taskrun
        self._branches = branches
        self.killing = killing

    def branch(self, name: str = "tasks") -> BranchStats:
        return self._branches.get(name, _EMPTY)

    @property
    def active(self) -> int:
        return sum(stats.active for stats in self._branches.values())


def sequence_next(tasks: list[Task], node: Node, branch: str = "tasks") -> list[ChildSpec]:
    """The next task of a list run one after another: after the last one succeeds."""
    stats = node.branch(branch)
    if stats.created == 0:
        return [ChildSpec(tasks[0])] if tasks else []
    if stats.active or stats.failed or stats.created >= len(tasks):
        return []
    return [ChildSpec(tasks[stats.created])]


def errors_next(errors: list[Task] | None, node: Node, branch: str = "tasks") -> list[ChildSpec] | None:
    """Once a branch has failed and its running children are done, the `errors` tasks run.

    Returns None while the main branch has not failed (the caller goes on as usual).
    """
    main = node.branch(branch)
    if not main.failed:
        return None
    if main.active or not errors:
        return []
    return sequence_next(errors, node, "errors")


def resolve_with_errors(tasks: list[Task], errors: list[Task] | None, node: Node, branch: str = "tasks") -> State | None:
    """Kestra's rule: done when every child is done; FAILED after a failure (and its errors run)."""
    main = node.branch(branch)
    if main.active:
        return None
    if main.failed:
        if errors:
            handled = node.branch("errors")
            if handled.active or (not handled.failed and handled.created < len(errors)):
                return None
        return main.final_state()
    if main.created < len(tasks):
        return None
    return main.final_state()
