"""An execution held across engine steps, with the indexes the engine and restart read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kflow.engine.index import ExecutionIndex
from kflow.engine.plan import FlowPlan
from kflow.execution import Execution, State, TaskRun
from kflow.masking import input_masker
from kflow.kv import KVStore
from kflow.attempt_logs import AttemptLogs


class ExecutionRun:
    """An execution with its indexes, held by a shell across engine steps."""

    def __init__(self, execution: Execution, plan: FlowPlan, kv: KVStore | None = None):
        self.execution = execution
        self.kv = kv  # the KV store the shell gives this execution (KV tasks, kv()): I/O stays the shell's
        self.logs: AttemptLogs | None = None  # its attempt logs, for the log Fetch task: set by the shell
        self.exit_request: tuple[State, str] | None = None  # an Exit task's state and task run, within a step
        self.index = ExecutionIndex(execution, plan)
        self.memo: dict[str | None, dict[str, Any]] = {}  # per flowable task run: values computed once
        # Flowables that asked to be resolved again at a time (WaitFor's interval); None: at the
        # next step. After a load every running flowable is, since what they asked was in memory.
        self.wakeups: dict[str, datetime | None] = dict.fromkeys(self.index.running_flowables)
        # The values of SECRET inputs: masked in every reason and error the engine writes.
        self.masker = input_masker([i.id for i in plan.flow.inputs if i.type == "SECRET"], execution.inputs)

    @property
    def killing(self) -> bool:
        return self.execution.state.current in (State.KILLING, State.KILLED)

    def taskrun(self, taskrun_id: str) -> TaskRun:
        return self.index.by_id[taskrun_id]
