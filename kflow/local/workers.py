"""At most N runner processes at once for `kflow run`; the attempts beyond wait their turn.

A Parallel of 100 tasks (or a ForEach with `concurrencyLimit: 0`) asks the engine for 100
attempts at once; each is a Python process of ~30 MB. The engine's decisions are unchanged
(its task runs are RUNNING); only their processes are started in order, as earlier ones end.
A waiting attempt says so in its task's log, its timeout counts from its start, and a kill
ends it KILLED without a process.
"""

from __future__ import annotations

import os
from collections import deque

from kflow.engine import AttemptEnded
from kflow.execution import State
from kflow.local.processes import LogLine, RunnerProcesses
from kflow.runner.invocation import Invocation


def default_workers() -> int:
    """Twice the CPUs, at least 4: runner processes mostly wait (HTTP, S3, scripts, sleeps)."""
    return max(4, 2 * (os.cpu_count() or 1))


class WorkerLimit:
    def __init__(self, processes: RunnerProcesses, limit: int):
        if limit < 1:
            raise ValueError("the worker limit is at least 1")
        self.processes = processes
        self.limit = limit
        self.running: set[tuple[str, int]] = set()
        self.waiting: deque[tuple[Invocation, float | None]] = deque()

    def start(self, invocation: Invocation, timeout: float | None) -> None:
        if len(self.running) < self.limit:
            self._launch(invocation, timeout)
            return
        self.waiting.append((invocation, timeout))
        task_id = invocation.task.get("id", "?")
        self.processes.events.put(LogLine(invocation.taskRunId, task_id, f"waiting for a worker: {self.limit} runner processes are running (kflow run --workers)"))

    def ended(self, taskrun_id: str, attempt: int) -> None:
        """An attempt ended (any AttemptEnded, including a subflow's): start who waits next."""
        self.running.discard((taskrun_id, attempt))
        while self.waiting and len(self.running) < self.limit:
            self._launch(*self.waiting.popleft())

    def kill(self, taskrun_id: str, attempt: int) -> bool:
        """Drop a waiting attempt (reported KILLED); False when it is not waiting."""
        for item in self.waiting:
            if (item[0].taskRunId, item[0].attempt) == (taskrun_id, attempt):
                self.waiting.remove(item)
                self.processes.events.put(AttemptEnded(taskrun_id, attempt, State.KILLED, reason="killed before it started"))
                return True
        return False

    def _launch(self, invocation: Invocation, timeout: float | None) -> None:
        self.running.add((invocation.taskRunId, invocation.attempt))
        self.processes.start(invocation, timeout)
