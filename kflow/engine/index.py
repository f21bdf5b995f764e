"""In-memory indexes over an Execution, kept current as the engine changes it.

Built once when an execution is loaded (O(size)); every later change updates them in O(1),
so an engine step costs what changed, not what exists.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from kflow.engine.node import BranchStats
from kflow.engine.plan import FlowPlan
from kflow.execution import Execution, State, TaskRun


class ExecutionIndex:
    def __init__(self, execution: Execution, plan: FlowPlan):
        self.execution = execution
        self.plan = plan
        self.by_id: dict[str, TaskRun] = {}
        self.branches: dict[str | None, dict[str, BranchStats]] = defaultdict(dict)
        self.running_runnables: dict[str, None] = {}  # ordered set: an attempt is running
        self.running_flowables: dict[str, None] = {}
        self.retries: dict[str, datetime] = {}  # task run id -> when its next attempt is due
        self.outputs: dict[str, Any] = {}
        self.terminal_count = 0  # task runs in a final state
        for taskrun in execution.taskRunList:
            self._register(taskrun)

    def _stats(self, taskrun: TaskRun) -> BranchStats:
        branch = self.plan.places[taskrun.taskId].branch
        by_branch = self.branches[taskrun.parentTaskRunId]
        stats = by_branch.get(branch)
        if stats is None:
            stats = by_branch[branch] = BranchStats()
        return stats

    def _register(self, taskrun: TaskRun) -> None:
        self.by_id[taskrun.id] = taskrun
        stats = self._stats(taskrun)
        stats.ids.append(taskrun.id)
        stats.states[taskrun.state.current] += 1
        self.terminal_count += taskrun.state.current.terminal
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
        stats = self._stats(taskrun)
        stats.states[old] -= 1
        stats.states[state] += 1
        self.terminal_count += state.terminal - old.terminal
        taskrun.state.to(state, now)
        self._track(taskrun)

    def set_outputs(self, taskrun: TaskRun, outputs: dict[str, Any] | None) -> None:
        taskrun.outputs = outputs
        if outputs is not None:
            self._record_outputs(taskrun)

    def _record_outputs(self, taskrun: TaskRun) -> None:
        # Loop children nest by value, as Kestra's outputs.task[value].prop
        if taskrun.value is None:
            self.outputs[taskrun.taskId] = taskrun.outputs
        else:
            slot = self.outputs.setdefault(taskrun.taskId, {})
            if isinstance(slot, dict):
                slot[taskrun.value] = taskrun.outputs

    def parents(self, taskrun: TaskRun) -> list[TaskRun]:
        """Ancestors, nearest first."""
        out = []
        parent_id = taskrun.parentTaskRunId
        while parent_id is not None:
            parent = self.by_id[parent_id]
            out.append(parent)
            parent_id = parent.parentTaskRunId
        return out
