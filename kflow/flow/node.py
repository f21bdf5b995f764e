"""What a flowable task sees of its own task run: O(1) counts of its children per branch.

A branch is one of the flowable's task lists (`tasks`, `errors`, `then`, ...). The engine
keeps these counts up to date as task runs change, so resolving a flowable never scans
the execution.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kflow.execution import FAILED_STATES, State, TaskRun, worst

if TYPE_CHECKING:
    from kflow.attempt_logs import AttemptLogs
    from kflow.execution import Execution
    from kflow.flow.task import Task
    from kflow.kv import KVStore


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


@dataclass
class LoopStats:
    """Children of a loop by iteration: which iterations started, which have no running child.

    `idle` holds the iterations whose children all ended since the loop last looked, so a
    loop of 10,000 values continues only the iterations that changed.
    """

    iterations: dict[int, BranchStats] = field(default_factory=dict)
    idle: dict[int, None] = field(default_factory=dict)  # ordered set
    active_iterations: int = 0

    @property
    def started(self) -> int:
        return len(self.iterations)

    def take_idle(self) -> list[int]:
        out = list(self.idle)
        self.idle.clear()
        return out


_NO_LOOP = LoopStats()


class NodeServices:
    """What a flowable may ask of the execution: all of it pure, given by the engine."""

    def render(self, taskrun: TaskRun, value: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def set_outputs(self, taskrun: TaskRun, outputs: dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def child_state(self, taskrun: TaskRun, task_id: str) -> State | None:  # pragma: no cover
        raise NotImplementedError

    def wake_at(self, at: datetime, taskrun: TaskRun | None = None) -> None:  # pragma: no cover
        raise NotImplementedError

    def set_execution_labels(self, labels: dict[str, str]) -> None:  # pragma: no cover
        raise NotImplementedError

    def resume(self, taskrun: TaskRun) -> None:  # pragma: no cover
        raise NotImplementedError

    def kv_store(self) -> KVStore:  # pragma: no cover
        raise NotImplementedError

    def exit_execution(self, taskrun: TaskRun, state: State) -> None:  # pragma: no cover
        raise NotImplementedError

    def execution(self) -> Execution:  # pragma: no cover
        raise NotImplementedError

    def attempt_logs(self) -> AttemptLogs:  # pragma: no cover
        raise NotImplementedError


class Node:
    def __init__(self, taskrun: TaskRun | None, branches: dict[str, BranchStats], killing: bool,
                 loop: LoopStats | None = None, services: NodeServices | None = None,
                 now: datetime | None = None, memo: dict[str, Any] | None = None):
        self.taskrun = taskrun
        self._branches = branches
        self.killing = killing
        self._loop = loop or _NO_LOOP
        self._services = services
        self.now = now
        self.memo = memo if memo is not None else {}  # per task run, in memory only: values a flowable computed once

    def branch(self, name: str = "tasks") -> BranchStats:
        return self._branches.get(name, _EMPTY)

    @property
    def active(self) -> int:
        return sum(stats.active for stats in self._branches.values())

    @property
    def loop(self) -> LoopStats:
        return self._loop

    @property
    def outputs(self) -> dict[str, Any]:
        return (self.taskrun.outputs if self.taskrun else None) or {}

    def render(self, value: Any) -> Any:
        """Render a property's expressions with this task run's variables."""
        return self._services.render(self.taskrun, value)

    def set_outputs(self, **outputs: Any) -> None:
        self._services.set_outputs(self.taskrun, {**self.outputs, **outputs})

    def child_state(self, task_id: str) -> State | None:
        """The state of this task run's child of that task (None: not created)."""
        return self._services.child_state(self.taskrun, task_id)

    def wake_at(self, at: datetime) -> None:
        """Resolve this task run again at `at` (a shell calls the engine then)."""
        self._services.wake_at(at, self.taskrun)

    def resume(self) -> None:
        """This PAUSED task run goes on RUNNING (and the execution with it), as a resume does."""
        self._services.resume(self.taskrun)

    def exit_execution(self, state: State) -> None:
        """End the execution in `state` once this task run ends (Kestra's Exit)."""
        self._services.exit_execution(self.taskrun, state)

    def kv_store(self) -> KVStore:
        """The execution's KV store, given by the shell (ValueError when there is none)."""
        return self._services.kv_store()

    def execution(self) -> Execution:
        """The execution as it stands (read only): the log Fetch task walks its task runs."""
        return self._services.execution()

    def attempt_logs(self) -> AttemptLogs:
        """The execution's attempt logs, given by the shell (ValueError when there are none)."""
        return self._services.attempt_logs()

    def set_execution_labels(self, labels: dict[str, str]) -> None:
        """Add or overwrite labels of the execution (Kestra's Labels task)."""
        self._services.set_execution_labels(labels)


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
    return resolve_expected(len(tasks), errors, node, branch)


def resolve_expected(expected: int, errors: list[Task] | None, node: Node, branch: str = "tasks") -> State | None:
    """As resolve_with_errors, for a branch that is done once `expected` children have ended."""
    main = node.branch(branch)
    if main.active:
        return None
    if main.failed:
        if errors:
            handled = node.branch("errors")
            if handled.active or (not handled.failed and handled.created < len(errors)):
                return None
        return main.final_state()
    if main.created < expected:
        return None
    return main.final_state() if expected else State.SUCCESS
