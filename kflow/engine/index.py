"""In-memory indexes over an Execution, kept current as the engine changes it.

Built once when an execution is loaded (O(size)); every later change updates them in O(1),
so an engine step costs what changed, not what exists.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from kflow.flow.node import BranchStats, LoopStats
from kflow.engine.plan import FlowPlan
from kflow.execution import Execution, State, TaskRun


class ExecutionIndex:
    def __init__(self, execution: Execution, plan: FlowPlan):
        self.execution = execution
        self.plan = plan
        self.by_id: dict[str, TaskRun] = {}
        self.branches: dict[str | None, dict[str, BranchStats]] = defaultdict(dict)
        self.loops: dict[str, LoopStats] = {}  # loop task run id -> its children by iteration
        self.running_runnables: dict[str, None] = {}  # ordered set: an attempt is running
        self.running_flowables: dict[str, None] = {}
        self.retries: dict[str, datetime] = {}  # task run id -> when its next attempt is due
        self.timed_out: set[str] = set()  # flowables past their timeout, killing what runs under them
        self.paused: dict[str, None] = {}  # PAUSED task runs: looked at every step (their timers)
        self.outputs: dict[str, Any] = {}
        self.terminal_count = 0  # task runs in a final state
        for taskrun in execution.taskRunList:
            self._register(taskrun)
            if taskrun.attempts and not taskrun.state.current.terminal and self.plan.task(taskrun.taskId).flowable \
                    and taskrun.attempts[-1].state.current == State.FAILED:
                self.timed_out.add(taskrun.id)  # it was timing out when saved

    def _stats(self, taskrun: TaskRun) -> BranchStats:
        branch = self.plan.places[taskrun.taskId].branch
        by_branch = self.branches[taskrun.parentTaskRunId]
        stats = by_branch.get(branch)
        if stats is None:
            stats = by_branch[branch] = BranchStats()
        return stats

    def _iteration(self, taskrun: TaskRun) -> tuple[LoopStats, BranchStats] | None:
        if taskrun.iteration is None or taskrun.parentTaskRunId is None:
            return None
        loop = self.loops.get(taskrun.parentTaskRunId)
        if loop is None:
            loop = self.loops[taskrun.parentTaskRunId] = LoopStats()
        stats = loop.iterations.get(taskrun.iteration)
        if stats is None:
            stats = loop.iterations[taskrun.iteration] = BranchStats()
        return loop, stats

    def _count(self, taskrun: TaskRun, state: State, delta: int) -> None:
        """Add (1) or remove (-1) a child in `state` from its parent's counters."""
        self._stats(taskrun).states[state] += delta
        self.terminal_count += delta * state.terminal
        found = self._iteration(taskrun)
        if found is None:
            return
        loop, stats = found
        was_active = stats.active > 0
        stats.states[state] += delta
        is_active = stats.active > 0
        loop.active_iterations += is_active - was_active
        if is_active:
            loop.idle.pop(taskrun.iteration, None)
        elif was_active:
            loop.idle[taskrun.iteration] = None

    def _register(self, taskrun: TaskRun) -> None:
        self.by_id[taskrun.id] = taskrun
        self._stats(taskrun).ids.append(taskrun.id)
        found = self._iteration(taskrun)
        if found is not None:  # counted as active from here on: say so first
            found[0].active_iterations += found[1].active == 0
            found[0].idle.pop(taskrun.iteration, None)
            found[1].ids.append(taskrun.id)
        self._count(taskrun, taskrun.state.current, 1)  # counts terminal_count too
        self._track(taskrun)
        if taskrun.outputs is not None:
            self._record_outputs(taskrun)

    def _track(self, taskrun: TaskRun) -> None:
        state = taskrun.state.current
        flowable = self.plan.task(taskrun.taskId).flowable
        running = self.running_flowables if flowable else self.running_runnables
        if state.terminal or state == State.CREATED:
            running.pop(taskrun.id, None)
        else:
            running[taskrun.id] = None
        if state == State.PAUSED:
            self.paused[taskrun.id] = None
        else:
            self.paused.pop(taskrun.id, None)
        attempt = taskrun.attempts[-1] if taskrun.attempts else None
        if state == State.RETRYING and attempt is not None and attempt.notBefore is not None:
            self.retries[taskrun.id] = attempt.notBefore
        else:
            self.retries.pop(taskrun.id, None)

    def add(self, taskrun: TaskRun) -> None:
        self.execution.taskRunList.append(taskrun)
        self._register(taskrun)

    def set_state(self, taskrun: TaskRun, state: State, now: datetime) -> None:
        old = taskrun.state.current
        if old == state:
            return
        self._count(taskrun, old, -1)
        self._count(taskrun, state, 1)
        taskrun.state.to(state, now)
        self._track(taskrun)

    def set_outputs(self, taskrun: TaskRun, outputs: dict[str, Any] | None) -> None:
        taskrun.outputs = outputs
        if outputs is not None:
            self._record_outputs(taskrun)

    def _record_outputs(self, taskrun: TaskRun) -> None:
        # Runs inside loops nest by value, outermost first, as Kestra's outputs.task[value].prop
        values = self.values(taskrun)
        if not values:
            self.outputs[taskrun.taskId] = taskrun.outputs
            return
        slot = self.outputs.setdefault(taskrun.taskId, {})
        for value in values[:-1]:
            if not isinstance(slot, dict):
                return
            slot = slot.setdefault(value, {})
        if isinstance(slot, dict):
            slot[values[-1]] = taskrun.outputs

    def values(self, taskrun: TaskRun) -> list[str]:
        """The loop values of a task run and its ancestors, outermost first."""
        out = []
        current: TaskRun | None = taskrun
        while current is not None:
            if current.value is not None:
                out.append(current.value)
            current = self.by_id.get(current.parentTaskRunId) if current.parentTaskRunId else None
        return out[::-1]

    def remove(self, taskrun: TaskRun) -> None:
        """Forget a task run (a restart drops the `errors` runs); O(size), restarts are rare."""
        self._count(taskrun, taskrun.state.current, -1)
        self._stats(taskrun).ids.remove(taskrun.id)
        found = self._iteration(taskrun)
        if found is not None:
            found[1].ids.remove(taskrun.id)
        del self.by_id[taskrun.id]
        self.running_runnables.pop(taskrun.id, None)
        self.running_flowables.pop(taskrun.id, None)
        self.retries.pop(taskrun.id, None)
        self.paused.pop(taskrun.id, None)
        self.execution.taskRunList.remove(taskrun)

    def parents(self, taskrun: TaskRun) -> list[TaskRun]:
        """Ancestors, nearest first."""
        out = []
        parent_id = taskrun.parentTaskRunId
        while parent_id is not None:
            parent = self.by_id[parent_id]
            out.append(parent)
            parent_id = parent.parentTaskRunId
        return out
